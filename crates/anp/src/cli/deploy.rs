//! `anp deploy mark|rollback|list`: deploy markers, which `anp status` compares before and
//! after; a mark or rollback also moves deploy-sensitive cache namespaces' generations.

use alphanode::admin::{DeployMark, DeployRollback, GenerationMoved};
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
    /// Record that the newest deploy was rolled back (a `rollback of VERSION` marker) and
    /// return deploy-sensitive cache namespaces to their previous generation, still warm.
    Rollback {
        /// Who rolled back.
        #[arg(long)]
        owner: Option<String>,
        /// Why.
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
                output::out(&format!(
                    "deploy {} marked at {}\n{}",
                    m.marker.version,
                    output::ts(m.marker.at),
                    moved_text(&m.cache, "moved to a new, empty generation")
                ))
            }
        }
        DeployCommand::Rollback { owner, note } => {
            let r = ctx
                .admin()
                .await?
                .deploy_rollback(DeployRollback { owner, note })
                .await?;
            if ctx.json {
                output::json(&r)
            } else {
                output::out(&format!(
                    "rollback of {} (deployed {}) marked at {}\n{}",
                    r.undone.version,
                    output::ts(r.undone.at),
                    output::ts(r.marker.at),
                    moved_text(
                        &r.cache,
                        "back to their previous generation (its values are still stored)"
                    )
                ))
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

/// One line per cache namespace whose generation moved.
fn moved_text(moved: &[GenerationMoved], what: &str) -> String {
    if moved.is_empty() {
        return String::new();
    }
    let list: Vec<String> = moved
        .iter()
        .map(|m| format!("{} ({} → {})", m.namespace, m.from, m.to))
        .collect();
    format!("cache namespaces {what}: {}\n", list.join(", "))
}
