//! `contentgate admins ...` and `contentgate audit`: the panel's operators and the log
//! of what was done, through the same services as the panel.

use std::io::{BufRead, IsTerminal};

use super::{Failure, open, print_json};
use crate::admins::{self, Grants};
use crate::config::{AdminsCommand, GlobalArgs};

pub(super) async fn run(global: &GlobalArgs, command: AdminsCommand) -> Result<(), Failure> {
    let (keys, _) = open(global).await?;
    let db = &keys.db;
    match command {
        AdminsCommand::Create {
            email,
            all_accounts,
            password_stdin,
        } => {
            let grants = match (all_accounts, global.accounts.is_empty()) {
                (true, true) => Grants::All,
                (false, false) => Grants::Accounts(global.accounts.clone()),
                _ => {
                    return Err(Failure(
                        "give the accounts the admin manages (--account NAME, repeatable) or --all-accounts".into(),
                        2,
                    ));
                }
            };
            let password = read_password(password_stdin)?;
            let view = admins::create(db, &email, &password, &grants).await?;
            if global.json {
                print_json(global, &view);
            } else {
                println!("created admin {}", view.email);
            }
        }
        AdminsCommand::List => {
            let views = admins::list(db).await?;
            if global.json {
                print_json(global, &views);
            } else {
                for view in views {
                    let scope = if view.all_accounts {
                        "all accounts".to_owned()
                    } else {
                        view.accounts.join(",")
                    };
                    println!("{}\t{}\t{}", view.email, scope, view.created_at);
                }
            }
        }
        AdminsCommand::Delete { email } => {
            admins::delete(db, &email).await?;
            println!("deleted admin {email}; their sessions have ended");
        }
        AdminsCommand::ResetPassword {
            email,
            password_stdin,
        } => {
            admins::find(db, &email)
                .await?
                .ok_or_else(|| Failure(format!("no admin {email}"), 1))?;
            let password = read_password(password_stdin)?;
            admins::reset_password(db, &email, &password).await?;
            println!("new password set for {email}; their sessions have ended");
        }
        AdminsCommand::Grant { email } => {
            let [account] = global.accounts.as_slice() else {
                return Err(Failure("give one account: --account NAME".into(), 2));
            };
            let view = admins::grant(db, &email, account).await?;
            if global.json {
                print_json(global, &view);
            } else {
                println!("{} now manages {}", view.email, view.accounts.join(","));
            }
        }
    }
    Ok(())
}

/// A password from stdin's first line, or asked twice without echo on a terminal.
fn read_password(from_stdin: bool) -> Result<String, Failure> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|err| Failure(format!("cannot read the password: {err}"), 1))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure(
            "no terminal to ask for the password: pipe it with --password-stdin".into(),
            2,
        ));
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map_err(|err| Failure(format!("cannot read the password: {err}"), 1))
    };
    let first = ask("Password: ")?;
    if ask("Password again: ")? != first {
        return Err(Failure("the passwords differ".into(), 2));
    }
    Ok(first)
}

pub(super) async fn run_audit(global: &GlobalArgs, limit: u64) -> Result<(), Failure> {
    let (keys, _) = open(global).await?;
    let account_id = match global.accounts.as_slice() {
        [] => None,
        [name] => Some(super::find_account(&keys, name).await?.id),
        _ => return Err(Failure("give --account once, or not at all".into(), 2)),
    };
    let (entries, _) = crate::audit::page(&keys.db, account_id.as_deref(), 1, limit.max(1))
        .await
        .map_err(crate::error::AppError::from)?;
    if global.json {
        print_json(global, &entries);
    } else {
        for e in entries {
            println!(
                "{}\t{}\t{}\t{}\t{}",
                e.at, e.actor, e.action, e.subject, e.client
            );
        }
    }
    Ok(())
}

/// `serve --demo` on a data folder without admins creates `admin@localhost` with a
/// random password, shown once on the terminal and never written to a log file.
pub(super) async fn ensure_demo_admin(
    db: &sea_orm::DatabaseConnection,
    public_url: &str,
) -> Result<(), Failure> {
    if !admins::list(db).await?.is_empty() {
        return Ok(());
    }
    let password = crate::admins::sessions::random_token()[..20].to_owned();
    admins::create(db, DEMO_ADMIN, &password, &Grants::All).await?;
    if std::io::stdout().is_terminal() {
        println!(
            "\n  Admin panel: {public_url}/panel/\n  Sign in as {DEMO_ADMIN} with the password {password}\n  (shown this once; set another with `contentgate admins reset-password {DEMO_ADMIN}`)\n"
        );
    } else {
        tracing::info!(
            "created the admin {DEMO_ADMIN} for {public_url}/panel/; set its password with `contentgate admins reset-password {DEMO_ADMIN}`"
        );
    }
    Ok(())
}

const DEMO_ADMIN: &str = "admin@localhost";
