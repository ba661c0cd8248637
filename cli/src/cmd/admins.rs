//! `admins list | create | invite | revoke | reinstate`.

use anyhow::Result;

use crate::cli::AdminsCmd;
use crate::cmd::to_json;
use crate::context::Ctx;
use crate::output::{self, Column, ListWriter};

/// Columns of admin listings (wire names).
fn admin_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("email"),
        Column::both("name"),
        Column::both("createdAt"),
        Column::both("activatedAt"),
        Column::both("revokedAt"),
    ]
}

/// Runs an `admins` subcommand.
pub async fn run(ctx: &Ctx, cmd: AdminsCmd) -> Result<()> {
    let (client, _) = ctx.client()?;
    let admins = client.admins();
    match cmd {
        AdminsCmd::List => {
            let list = admins.list().await?;
            let mut w = ListWriter::new(ctx.format(), admin_columns(), output::stdout());
            for a in &list {
                w.write(&to_json(a)?)?;
            }
            w.finish()
        }
        AdminsCmd::Create { email, name } => {
            let admin = admins.create(&email, &name).await?;
            output::print_object(
                ctx.format(),
                admin_columns(),
                &to_json(&admin)?,
                output::stdout(),
            )
        }
        AdminsCmd::Invite { id } => {
            admins.invite(&id).await?;
            output::info(&format!("Invite sent to admin {id}."));
            Ok(())
        }
        AdminsCmd::Revoke { id } => {
            admins.revoke(&id).await?;
            output::info(&format!("Admin {id} revoked."));
            Ok(())
        }
        AdminsCmd::Reinstate { id } => {
            admins.reinstate(&id).await?;
            output::info(&format!("Admin {id} reinstated."));
            Ok(())
        }
    }
}
