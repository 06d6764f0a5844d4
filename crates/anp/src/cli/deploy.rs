//! `anp deploy mark|list`: deploy markers, which `anp status` compares before and after.

use alphanode::admin::DeployMark;
use alphanode::{Clock, SystemClock};
use clap::Subcommand;

use super::Ctx;
use crate::output;

/// `anp deploy …`.
#[derive(Subcommand, Debug)]
pub enum DeployCommand {
    /// Record that a version went out (with its owner and how to roll it back).
    Mark {
        /// Version deployed.
        #[arg(long)]
        version: String,
        /// Who owns it.
        #[arg(long)]
        owner: Option<String>,
        /// The command that rolls it back.
        #[arg(long)]
        rollback: Option<String>,
        /// Free text.
        #[arg(long)]
        note: Option<String>,
    },
    /// The newest deploy markers.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// Runs `anp deploy …`.
pub async fn deploy(ctx: &Ctx, c: DeployCommand) -> anyhow::Result<()> {
    match c {
        DeployCommand::Mark {
            version,
            owner,
            rollback,
            note,
        } => {
            let m = ctx
                .admin_creating()
                .await?
                .deploy_mark(DeployMark {
                    version,
                    owner,
                    rollback,
                    note,
                })
                .await?;
            if ctx.json {
                ctx.json_object(&m)
            } else {
                println!("deploy {} marked at {}", m.version, output::ts(m.at));
                Ok(())
            }
        }
        DeployCommand::List { limit } => {
            let list = ctx.admin().await?.deploy_list(limit).await?;
            if ctx.json {
                return output::json(&list);
            }
            let now = SystemClock.now();
            let mut t = output::table(&["at", "age", "version", "owner", "rollback", "note"]);
            for m in &list {
                t.add_row(vec![
                    output::ts(m.at),
                    output::age(m.at, now),
                    m.version.clone(),
                    m.owner.clone().unwrap_or_default(),
                    m.rollback.clone().unwrap_or_default(),
                    m.note.clone().unwrap_or_default(),
                ]);
            }
            println!("{t}");
            Ok(())
        }
    }
}
