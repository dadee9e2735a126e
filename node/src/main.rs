//! The `rustchain-node` binary.

use std::process::ExitCode;

use clap::Parser;
use rustchain_node::cli::{Cli, Command};
use rustchain_node::config::NodeConfig;
use rustchain_node::{logging, service, testnet, verify};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::DevGenesis) = cli.command {
        print!("{}", rustchain_genesis::dev_genesis().to_toml());
        return Ok(());
    }
    if let Some(Command::Testnet(args)) = &cli.command {
        let layout = testnet::write_testnet(args)?;
        println!(
            "wrote a {}-node network to {}",
            layout.configs.len(),
            args.out.display()
        );
        println!("genesis: {}", layout.genesis.display());
        println!("start each node (in its own terminal, or with & ):");
        for config in &layout.configs {
            println!("  rustchain-node --config {}", config.display());
        }
        return Ok(());
    }
    let config = NodeConfig::resolve(&cli)?;
    logging::init(config.log_format, &config.log_level)?;
    match cli.command {
        Some(Command::VerifyChain) => {
            let datadir = config
                .datadir
                .clone()
                .ok_or_else(|| anyhow::anyhow!("verify-chain needs --datadir"))?;
            let genesis = service::load_genesis(&config.genesis)?;
            let report = verify::replay_chain(&datadir.join("db"), genesis, |done, total| {
                tracing::info!(done, total, "replaying");
            })?;
            println!(
                "ok: replayed {} blocks; head {} at height {}; state root {}",
                report.blocks, report.head_hash, report.head_height, report.state_root
            );
            Ok(())
        }
        Some(Command::DevGenesis) | Some(Command::Testnet(_)) => Ok(()),
        None => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(service::run(config))
        }
    }
}
