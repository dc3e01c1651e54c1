"""Independent gRPC client check of a running jifen: health by full service name and reflection.

usage: grpc_check.py ADDR SERVICE... [--absent SERVICE...]
Every SERVICE must answer SERVING and be listed by reflection; every --absent one must be
unknown to health (NOT_FOUND) and missing from reflection.
"""
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


def main() -> int:
    addr, *rest = sys.argv[1:]
    present = rest[: rest.index("--absent")] if "--absent" in rest else rest
    absent = rest[rest.index("--absent") + 1 :] if "--absent" in rest else []
    channel = grpc.insecure_channel(addr)
    health = health_pb2_grpc.HealthStub(channel)
    failures = 0
    for service in present:
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
        print(f"  health {service}: {name}")
        failures += name != "SERVING"
    for service in absent:
        try:
            health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            print(f"  health {service}: answered, but it should not be served here")
            failures += 1
        except grpc.RpcError as err:
            print(f"  health {service}: {err.code().name} (not served, as expected)")
            failures += err.code() != grpc.StatusCode.NOT_FOUND
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    response = next(reflection.ServerReflectionInfo(iter([request]), timeout=5))
    listed = {s.name for s in response.list_services_response.service}
    print(f"  reflection lists: {', '.join(sorted(listed))}")
    failures += sum(1 for s in present if s not in listed)
    failures += sum(1 for s in absent if s in listed)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
