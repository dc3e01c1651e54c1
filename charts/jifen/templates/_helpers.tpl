{{/* Chart name, truncated to a DNS label. */}}
{{- define "jifen.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name used as the prefix of every resource. Component suffixes (e.g. "-materials") must still
fit in 63 characters, so the prefix is cut at 50.
*/}}
{{- define "jifen.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "jifen.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels shared by every object of the release. */}}
{{- define "jifen.labels" -}}
helm.sh/chart: {{ include "jifen.chart" . }}
{{ include "jifen.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: jifen
{{- end }}

{{/* Labels that select every pod of the release. */}}
{{- define "jifen.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jifen.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: call with (dict "root" $ "component" "scoring"). */}}
{{- define "jifen.componentLabels" -}}
{{ include "jifen.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "jifen.componentSelectorLabels" -}}
{{ include "jifen.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Name of one component's objects: <fullname>-<component>; the monolith is just <fullname>. */}}
{{- define "jifen.componentName" -}}
{{- if eq .component "all" }}
{{- include "jifen.fullname" .root }}
{{- else }}
{{- printf "%s-%s" (include "jifen.fullname" .root) .component }}
{{- end }}
{{- end }}

{{/* The components the binary knows, in start order. */}}
{{- define "jifen.componentNames" -}}
identity materials scoring review notices ranking gateway
{{- end }}

{{/* Full gRPC service name a component serves (empty for the gateway, which has none). */}}
{{- define "jifen.grpcServiceName" -}}
{{- if ne . "gateway" -}}
{{- printf "jifen.%s.v1.%sService" . (title .) -}}
{{- end -}}
{{- end }}

{{- define "jifen.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "jifen.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "jifen.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Flags every jifen subcommand takes. */}}
{{- define "jifen.globalArgs" -}}
- --config
- /etc/jifen/jifen.toml
{{- if eq .Values.mode "monolithic" }}
- --data-dir
- /data
{{- end }}
{{- end }}

{{/*
Fails rendering early with a readable message when a required Secret reference is missing.
*/}}
{{- define "jifen.validate" -}}
{{- if eq .Values.mode "microservices" }}
{{- range $s := list "database" "redis" "s3" "auth" "pii" }}
{{- if not (index $.Values.secrets $s).existingSecret }}
{{- fail (printf "secrets.%s.existingSecret is required in microservices mode (create the Secret first; see the chart README)" $s) }}
{{- end }}
{{- end }}
{{- $any := false }}
{{- range $c := splitList " " (include "jifen.componentNames" $) }}
{{- if (index $.Values.components $c).enabled }}{{ $any = true }}{{ end }}
{{- end }}
{{- if not $any }}
{{- fail "microservices mode needs at least one enabled component" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Environment of every jifen container: secret references and per-pod telemetry names. */}}
{{- define "jifen.env" -}}
{{- $root := .root }}
{{- $s := $root.Values.secrets }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "jifen-%s" .component | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=%s,deployment.environment=%s" $root.Release.Namespace $root.Release.Name | quote }}
{{- if $s.database.existingSecret }}
- name: JIFEN__DATABASE__URL
  valueFrom:
    secretKeyRef:
      name: {{ $s.database.existingSecret }}
      key: {{ $s.database.urlKey }}
{{- end }}
{{- if $s.redis.existingSecret }}
- name: JIFEN__REDIS__URL
  valueFrom:
    secretKeyRef:
      name: {{ $s.redis.existingSecret }}
      key: {{ $s.redis.urlKey }}
{{- end }}
{{- if $s.s3.existingSecret }}
- name: JIFEN__S3__ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $s.s3.existingSecret }}
      key: {{ $s.s3.accessKeyIdKey }}
- name: JIFEN__S3__SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $s.s3.existingSecret }}
      key: {{ $s.s3.secretAccessKeyKey }}
{{- end }}
{{- if $s.auth.existingSecret }}
- name: JIFEN__AUTH__SIGNING_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ $s.auth.existingSecret }}
      key: {{ $s.auth.signingKeysKey }}
- name: JIFEN__AUTH__SERVICE_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $s.auth.existingSecret }}
      key: {{ $s.auth.serviceSecretKey }}
{{- end }}
{{- if $s.pii.existingSecret }}
- name: JIFEN__PII__KEYS
  valueFrom:
    secretKeyRef:
      name: {{ $s.pii.existingSecret }}
      key: {{ $s.pii.keysKey }}
{{- end }}
{{- if and .seed $s.seedAdmin.existingSecret }}
- name: JIFEN__AUTH__SEED_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $s.seedAdmin.existingSecret }}
      key: {{ $s.seedAdmin.passwordKey }}
{{- end }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with .extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volume mounts of every jifen container. */}}
{{- define "jifen.volumeMounts" -}}
- name: config
  mountPath: /etc/jifen/jifen.toml
  subPath: jifen.toml
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if eq .Values.mode "monolithic" }}
- name: data
  mountPath: /data
{{- end }}
{{- end }}

{{/* Probes of one component; gRPC health for components, HTTP for the gateway and the monolith. */}}
{{- define "jifen.probes" -}}
{{- $p := .root.Values.probes }}
{{- $svc := include "jifen.grpcServiceName" .component }}
{{- $http := or (eq .component "gateway") (eq .component "all") }}
{{- range $kind := list "startup" "liveness" "readiness" }}
{{ $kind }}Probe:
  {{- if $http }}
  httpGet:
    path: {{ ternary "/readyz" "/healthz" (eq $kind "readiness") }}
    port: http
  {{- else }}
  grpc:
    port: {{ $.root.Values.ports.grpc }}
    service: {{ $svc }}
  {{- end }}
  periodSeconds: {{ (index $p $kind).periodSeconds }}
  timeoutSeconds: {{ (index $p $kind).timeoutSeconds }}
  failureThreshold: {{ (index $p $kind).failureThreshold }}
{{- end }}
{{- end }}

{{/* Topology spread with the component's own selector. */}}
{{- define "jifen.topologySpread" -}}
{{- range .root.Values.topologySpreadConstraints }}
- maxSkew: {{ .maxSkew }}
  topologyKey: {{ .topologyKey }}
  whenUnsatisfiable: {{ .whenUnsatisfiable }}
  labelSelector:
    matchLabels:
      {{- include "jifen.componentSelectorLabels" $ | nindent 6 }}
  matchLabelKeys:
    - pod-template-hash
{{- end }}
{{- end }}

{{/* Pod scheduling fields shared by every workload. */}}
{{- define "jifen.podScheduling" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end }}

{{/* Peer URLs so components find each other over gRPC. */}}
{{- define "jifen.peers" -}}
{{- range $c := splitList " " (include "jifen.componentNames" .) }}
{{- if and (ne $c "gateway") (index $.Values.components $c).enabled }}
{{ $c }} = {{ printf "http://%s:%d" (include "jifen.componentName" (dict "root" $ "component" $c)) (int $.Values.ports.grpc) | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* NetworkPolicy egress rules shared by every jifen pod (DNS, stores, OTLP, extra). */}}
{{- define "jifen.egressRules" -}}
{{- $e := .Values.networkPolicy.egress }}
- ports:
  {{- range $e.dns.ports }}
    - protocol: UDP
      port: {{ . }}
    - protocol: TCP
      port: {{ . }}
  {{- end }}
  {{- with $e.dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- range $name := list "database" "redis" "s3" "otlp" }}
{{- $t := index $e $name }}
- ports:
  {{- range $t.ports }}
    - protocol: TCP
      port: {{ . }}
  {{- end }}
  {{- if or $t.cidrs $t.peers }}
  to:
    {{- range $t.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
    {{- with $t.peers }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
{{- end }}
{{- with $e.extra }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* jifen.toml: non-secret settings only; secrets arrive as JIFEN__* env vars. */}}
{{- define "jifen.configToml" -}}
# Rendered by the jifen Helm chart ({{ .Values.mode }} mode). Environment variables
# (JIFEN__SECTION__KEY) override anything here; secrets only ever arrive that way.
[telemetry]
log_format = {{ .Values.config.telemetry.logFormat | quote }}
{{- with .Values.config.telemetry.otlpEndpoint }}
otlp_endpoint = {{ . | quote }}
{{- end }}
{{- if or (eq .Values.mode "microservices") .Values.secrets.s3.existingSecret .Values.config.s3.endpoint }}

[s3]
{{- with .Values.config.s3.endpoint }}
endpoint = {{ . | quote }}
{{- end }}
region = {{ .Values.config.s3.region | quote }}
bucket = {{ .Values.config.s3.bucket | quote }}
{{- end }}
{{- if eq .Values.mode "microservices" }}

[peers]
{{- include "jifen.peers" . }}
{{- end }}
{{- if include "jifen.ruleSets" . }}

[seed]
rule_sets_dir = "/etc/jifen/rule-sets"
{{- end }}
{{- with .Values.config.extraToml }}

{{ . }}
{{- end }}
{{- end }}

{{/* Seed rule sets: the chart's files/rule-sets plus values.seed.extraRuleSets. */}}
{{- define "jifen.ruleSets" -}}
{{- range $path, $_ := .Files.Glob "files/rule-sets/*.toml" }}
{{ base $path }}: |
  {{- $.Files.Get $path | nindent 2 }}
{{- end }}
{{- range $name, $body := .Values.seed.extraRuleSets }}
{{ $name }}: |
  {{- $body | nindent 2 }}
{{- end }}
{{- end }}

{{/* Checksum of everything a pod reads from ConfigMaps, so pods roll when config changes. */}}
{{- define "jifen.configChecksum" -}}
{{- printf "%s\n%s" (include "jifen.configToml" .) (include "jifen.ruleSets" .) | sha256sum }}
{{- end }}

{{/* The workload targets of this release: ["all"] or the enabled component names. */}}
{{- define "jifen.targets" -}}
{{- if eq .Values.mode "monolithic" -}}
all
{{- else -}}
{{- $out := list }}
{{- range $c := splitList " " (include "jifen.componentNames" .) }}
{{- if (index $.Values.components $c).enabled }}{{ $out = append $out $c }}{{ end }}
{{- end }}
{{- join " " $out }}
{{- end }}
{{- end }}
