//! `jifen`: run any set of components, migrate, seed.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use jifen::app::{App, Plan, check_data_dir, open_database};
use jifen::cli::{Cli, Command};
use jifen::target::Target;
use jifen_kit::Config;

mod simulate;

/// mimalloc instead of glibc's malloc: the edge allocates on every request, and glibc's
/// allocator was about 15 % of the CPU in the score+rank profile at 256 connections.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Two TLS crypto providers end up linked (aws-lc-rs via the AWS SDK, ring via sqlx).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("jifen: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("jifen: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

fn one_line(err: &anyhow::Error) -> String {
    err.to_string().replace('\n', " ")
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Run(args) => {
            if let Some(addr) = args.grpc_addr {
                config.server.grpc_addr = addr.to_string();
            }
            if let Some(addr) = args.http_addr {
                config.server.http_addr = addr.to_string();
            }
            let targets = args.targets().to_vec();
            if args.dry_run {
                println!(
                    "{}",
                    serde_json::to_string(&Plan::new("run", &config, &targets)?)?
                );
                return Ok(());
            }
            let _telemetry = jifen_kit::telemetry::init(&config.telemetry)?;
            let grace = Duration::from_secs(config.server.shutdown_grace_secs);
            let shutdown = jifen_kit::shutdown::on_signal();
            let embedded = config.database.url.is_empty();
            if embedded && targets.contains(&Target::Identity) && targets.contains(&Target::Scoring)
            {
                // The embedded default is ready to use on its first run; production seeds
                // with `jifen seed` (a Helm job).
                check_data_dir(&cli.data_dir)?;
                let outcome = jifen::seed::seed(&config, &cli.data_dir).await?;
                if !outcome.unchanged {
                    for line in &outcome.lines {
                        println!("{line}");
                    }
                }
            }
            let app = App::start(config, cli.data_dir.clone(), &targets, shutdown).await?;
            let names: Vec<_> = targets.iter().map(|t| t.name()).collect();
            println!(
                "jifen ready: grpc={} http=http://{} targets={} data_dir={} s3={}",
                app.grpc_addr,
                app.http_addr,
                names.join(","),
                cli.data_dir.display(),
                app.s3_endpoint
            );
            app.wait(grace).await.map_err(anyhow::Error::msg)?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Migrate(args) => {
            let targets = args.targets().to_vec();
            if args.dry_run {
                println!(
                    "{}",
                    serde_json::to_string(&Plan::new("migrate", &config, &targets)?)?
                );
                return Ok(());
            }
            check_data_dir(&cli.data_dir)?;
            for target in targets {
                if target.grpc_service().is_some() {
                    open_database(target, &config, &cli.data_dir).await?;
                    println!("migrated {target}");
                }
            }
            Ok(())
        }
        Command::Seed => {
            check_data_dir(&cli.data_dir)?;
            let outcome = jifen::seed::seed(&config, &cli.data_dir).await?;
            for line in &outcome.lines {
                println!("{line}");
            }
            if outcome.unchanged {
                println!("seed: unchanged");
            }
            Ok(())
        }
        Command::Simulate(args) => {
            println!("{}", simulate::run(&args, &config, &cli.data_dir).await?);
            Ok(())
        }
        Command::Loadgen(args) => jifen::loadgen::run(args).await,
    }
}
