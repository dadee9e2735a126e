//! `rustchain-wallet policy show|set|clear`: the keystore wallet's spending policy.

use anyhow::Context;
use clap::Subcommand;
use rustchain_primitives::{Address, Amount};

use crate::keys::unlock;
use crate::Cli;
use rustchain_wallet::policy::PolicyState;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the rules and what was spent in the last 24 hours.
    Show,
    /// Change rules; unnamed rules stay as they are.
    Set {
        /// Largest amount of one transfer, in RTC.
        #[arg(long)]
        max_per_tx: Option<String>,
        /// Largest total over any 24 hours, in RTC.
        #[arg(long)]
        max_per_day: Option<String>,
        /// Above this amount (RTC) a spend needs an extra co-signer.
        #[arg(long)]
        cosigner_above: Option<String>,
        /// Add a recipient to the allow list (once it is not empty, only listed recipients).
        #[arg(long = "allow", value_name = "ADDRESS")]
        allow: Vec<String>,
        /// Add a recipient to the deny list.
        #[arg(long = "deny", value_name = "ADDRESS")]
        deny: Vec<String>,
    },
    /// Remove every rule.
    Clear,
}

pub fn run(cli: &Cli, command: &PolicyCommand) -> anyhow::Result<()> {
    let path = cli
        .wallet
        .as_ref()
        .context("the spending policy lives in a keystore: pass --wallet FILE")?;
    let mut keystore = unlock(cli, path)?;
    let mut state = PolicyState::load(&keystore)?;
    match command {
        PolicyCommand::Show => {}
        PolicyCommand::Set {
            max_per_tx,
            max_per_day,
            cosigner_above,
            allow,
            deny,
        } => {
            let rtc = |v: &Option<String>| v.as_deref().map(Amount::from_rtc_str).transpose();
            if let Some(a) = rtc(max_per_tx)? {
                state.rules.max_per_tx = Some(a);
            }
            if let Some(a) = rtc(max_per_day)? {
                state.rules.max_per_day = Some(a);
            }
            if let Some(a) = rtc(cosigner_above)? {
                state.rules.cosigner_above = Some(a);
            }
            for a in allow.iter().chain(deny) {
                Address::decode_any(a).with_context(|| format!("{a:?} is not an address"))?;
            }
            state.rules.allow.extend(allow.iter().cloned());
            state.rules.deny.extend(deny.iter().cloned());
            state.rules.validate()?;
            state.store(&mut keystore)?;
        }
        PolicyCommand::Clear => {
            state.rules = Default::default();
            state.store(&mut keystore)?;
        }
    }
    println!("{}", state.rules.describe());
    let spent: u64 = state.recent.iter().map(|(_, units)| *units).sum();
    println!(
        "spent in the last 24 hours: {}",
        Amount::from_base_units(spent)
    );
    Ok(())
}
