//! The command line: `serve` and the account and key management commands. Management
//! talks to the database directly through the same services; no HTTP route offers it.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

mod admins;
mod failure;
mod keys;
mod media;
mod queries;
use failure::Failure;

use crate::error::AppError;

use crate::accounts;
use crate::admins::sessions::Timeouts;
use crate::app::{AppState, GraphqlOptions, PanelOptions, serve};
use crate::auth::ServerSecret;
use crate::auth::keys::KeyStore;
use crate::config::{AccountsCommand, Cli, Command, GlobalArgs, Secret, ServeArgs};
use crate::quota::{Plan, Plans, QuotaOptions, usage};

pub async fn run(cli: Cli) -> ExitCode {
    init_tracing();
    let result = match cli.command {
        None => run_serve(&cli.global, ServeArgs::default()).await,
        Some(Command::Serve(args)) => run_serve(&cli.global, args).await,
        Some(Command::Accounts(command)) => run_accounts(&cli.global, command).await,
        Some(Command::Keys(command)) => keys::run(&cli.global, command).await,
        Some(Command::Queries(command)) => queries::run(&cli.global, command).await,
        Some(Command::Admins(command)) => admins::run(&cli.global, command).await,
        Some(Command::Audit { limit }) => admins::run_audit(&cli.global, limit).await,
        Some(Command::Media(crate::config::MediaCommand::Gc)) => media::run_gc(&cli.global).await,
        Some(Command::Import { dir }) => media::run_import(&cli.global, &dir).await,
        Some(Command::Export { dir }) => media::run_export(&cli.global, &dir).await,
        Some(Command::Schema { legacy }) => run_schema(&cli.global, legacy).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message, code)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

fn init_tracing() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // Colours only on a terminal, so that log files and pipes get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

/// What every command works with: the key store on the opened database, and the plans.
async fn open(global: &GlobalArgs) -> Result<(KeyStore, Arc<Plans>), Failure> {
    let plans = Arc::new(global.plans().map_err(|err| Failure(err, 2))?);
    let keys = key_store(global, &plans).await?;
    Ok((keys, plans))
}

async fn key_store(global: &GlobalArgs, plans: &Plans) -> Result<KeyStore, Failure> {
    // The data folder holds the SQLite database or the server secret, or both.
    if global
        .database_url
        .as_ref()
        .is_none_or(|url| url.expose().is_empty())
        || global.secret.is_none()
    {
        crate::db::secure_data_dir(&global.data_dir).map_err(|err| {
            Failure(
                format!("cannot create {}: {err}", global.data_dir.display()),
                1,
            )
        })?;
    }
    let secret = ServerSecret::load(global.secret.as_ref().map(Secret::expose), &global.data_dir)
        .map_err(|err| {
        Failure(
            format!(
                "cannot read or create the server secret in {}: {err}",
                global.data_dir.display()
            ),
            1,
        )
    })?;
    let db = crate::db::connect(&global.database_url())
        .await
        .map_err(|err| Failure(format!("cannot open the database: {err}"), 1))?;
    let keys = KeyStore {
        db,
        secret,
        show_once: global.show_keys_once,
    };
    // Every command finds the default account in place, whatever runs first. Creating
    // it logs how to get its keys, never the keys themselves.
    if accounts::ensure_default(&keys, plans.default_plan())
        .await?
        .1
    {
        tracing::info!(
            "created account 'default' with its application keys; show them with `contentgate keys list`"
        );
    }
    // Accounts from before the internal types existed get them here (a data migration
    // that needs the definition validator, which the schema migrations do not have).
    crate::content::internal::ensure_everywhere(&keys.db).await?;
    Ok(keys)
}

async fn account_id(keys: &KeyStore, global: &GlobalArgs) -> Result<String, Failure> {
    let name = global.account().map_err(|err| Failure(err, 2))?;
    Ok(find_account(keys, name).await?.id)
}

async fn find_account(keys: &KeyStore, name: &str) -> Result<entity::account::Model, Failure> {
    accounts::find(keys, name)
        .await?
        .ok_or_else(|| Failure(format!("no account named {name}"), 1))
}

async fn run_serve(global: &GlobalArgs, args: ServeArgs) -> Result<(), Failure> {
    let shutdown = shutdown_signal();
    let cors = crate::http::CorsOrigins::parse(&args.cors_origins)
        .map_err(|err| Failure(format!("--cors-origins: {err}"), 2))?;
    let trusted_proxies = args
        .trusted_proxies
        .iter()
        .map(|p| crate::auth::access::parse_network(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| Failure(format!("--trusted-proxies: {err}"), 2))?;
    let (keys, plans) = open(global).await?;
    // Every account's plan must be known here, or its limits would be guessed.
    for account in accounts::list(&keys).await? {
        plans.require(&account.plan).map_err(|err| {
            Failure(
                format!("account {}: {err} (check the plans file)", account.name),
                2,
            )
        })?;
    }
    let (account, _) = accounts::ensure_default(&keys, plans.default_plan()).await?;
    if args.demo && crate::demo::load(&keys.db, &account.id).await? {
        tracing::info!("loaded the example blog (category, author, post) into account 'default'");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|err| Failure(format!("cannot listen on {}: {err}", args.listen), 1))?;
    let address = listener
        .local_addr()
        .map_err(|e| Failure(e.to_string(), 1))?;
    let public_url = global.public_url(address);
    if !public_url.starts_with("http://") && !public_url.starts_with("https://") {
        return Err(Failure(
            format!("--public-url must start with http:// or https:// (got {public_url})"),
            2,
        ));
    }
    if args.demo {
        admins::ensure_demo_admin(&keys.db, &public_url).await?;
    }
    tracing::info!(%address, "listening");
    let panel = PanelOptions {
        public_url,
        timeouts: Timeouts {
            idle: Duration::from_secs(args.panel_idle_minutes * 60),
            absolute: Duration::from_secs(args.panel_session_hours * 3600),
        },
    };
    let graphql = GraphqlOptions {
        introspection: args.graphql_introspection,
    };
    let quota = QuotaOptions {
        plans,
        flush_interval: Duration::from_millis(args.quota_flush_ms),
        enabled: true,
    };
    let state = AppState::new(keys.db.clone(), keys, graphql, quota)
        .with_response_cache(args.response_cache_mb * 1024 * 1024)
        .with_panel(panel)
        .with_cors(cors)
        .with_trusted_proxies(trusted_proxies)
        .with_media(global.media_store().map_err(|err| Failure(err, 2))?);
    serve(
        listener,
        state,
        shutdown,
        Duration::from_secs(args.shutdown_timeout),
    )
    .await
    .map_err(|err| Failure(format!("server failed: {err}"), 1))?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not
/// when the future is first polled: a signal that arrives after "listening" is logged
/// must stop the server cleanly, never kill it with the default action.
#[cfg(unix)]
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    async fn next(signal: Option<Signal>) {
        match signal {
            Some(mut signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let terminate = next(signal(SignalKind::terminate()).ok());
    let interrupt = next(signal(SignalKind::interrupt()).ok());
    async move {
        tokio::select! {
            _ = terminate => {},
            _ = interrupt => {},
        }
        tracing::info!("shutdown requested; finishing in-flight requests");
    }
}

#[cfg(not(unix))]
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown requested; finishing in-flight requests");
    }
}

pub(crate) fn print_json(global: &GlobalArgs, value: &impl Serialize) {
    let text = if global.json {
        serde_json::to_string(value)
    } else {
        serde_json::to_string_pretty(value)
    };
    println!("{}", text.expect("serializable output"));
}

async fn run_accounts(global: &GlobalArgs, command: AccountsCommand) -> Result<(), Failure> {
    let (keys, plans) = open(global).await?;
    let plan_named = |name: &str| plans.require(name).map_err(|err| Failure(err, 2));
    match command {
        AccountsCommand::Create { name, plan } => {
            let plan = plan_named(plan.as_deref().unwrap_or(plans.default_plan()))?;
            let account = accounts::create(&keys, &name, &plan.name).await?;
            let view = accounts::AccountView::from(account);
            if global.json {
                print_json(global, &view);
            } else {
                println!(
                    "created account {} ({}) on plan {}; show its keys with `contentgate keys list --account {}`",
                    view.name, view.id, view.plan, view.name
                );
            }
        }
        AccountsCommand::List => {
            let views: Vec<accounts::AccountView> = accounts::list(&keys)
                .await?
                .into_iter()
                .map(Into::into)
                .collect();
            if global.json {
                print_json(global, &views);
            } else {
                for view in views {
                    println!(
                        "{}\t{}\t{}\t{}",
                        view.name, view.id, view.plan, view.created_at
                    );
                }
            }
        }
        AccountsCommand::SetPlan { name, plan } => {
            let plan = plan_named(&plan)?;
            find_account(&keys, &name).await?;
            let view = accounts::AccountView::from(
                accounts::set_plan(&keys, &crate::audit::Actor::cli(), &name, &plan.name).await?,
            );
            if global.json {
                print_json(global, &view);
            } else {
                println!("account {} is now on plan {}", view.name, view.plan);
            }
        }
        AccountsCommand::Usage { name } => {
            let accounts = match name {
                Some(name) => vec![find_account(&keys, &name).await?],
                None => accounts::list(&keys).await?,
            };
            let mut reports = Vec::with_capacity(accounts.len());
            for account in &accounts {
                reports.push(
                    usage::report(&keys.db, &plans, account)
                        .await
                        .map_err(AppError::from)?,
                );
            }
            if global.json {
                print_json(global, &reports);
            } else {
                for report in &reports {
                    print_usage(report);
                }
            }
        }
        AccountsCommand::PersistedOnly { name, mode } => {
            let account = find_account(&keys, &name).await?;
            crate::persisted::set_persisted_only(&keys.db, &account.id, mode == "on").await?;
            println!("account {name}: persisted-only {mode}");
        }
        AccountsCommand::Plans => {
            let all: Vec<&Plan> = plans.all().map(|p| p.as_ref()).collect();
            if global.json {
                print_json(global, &all);
            } else {
                let or_unlimited = |v: Option<String>| v.unwrap_or_else(|| "unlimited".into());
                println!("plan\trequests/30 days\trequests/s\tburst\tuser keys");
                for plan in all {
                    println!(
                        "{}{}\t{}\t{}\t{}\t{}",
                        plan.name,
                        if plan.name == plans.default_plan() {
                            " (default)"
                        } else {
                            ""
                        },
                        or_unlimited(plan.requests_per_30_days.map(|v| v.to_string())),
                        or_unlimited(plan.requests_per_second.map(|v| v.to_string())),
                        or_unlimited(plan.burst_size().map(|v| v.to_string())),
                        or_unlimited(plan.max_user_keys.map(|v| v.to_string())),
                    );
                }
            }
        }
    }
    Ok(())
}

fn print_usage(report: &usage::UsageReport) {
    match (report.limit, report.remaining) {
        (Some(limit), Some(remaining)) => println!(
            "{} (plan {}): {} of {limit} requests used in the last 30 days, {remaining} remaining",
            report.account, report.plan, report.used
        ),
        _ => println!(
            "{} (plan {}): {} requests in the last 30 days, no quota",
            report.account, report.plan, report.used
        ),
    }
    for day in &report.days {
        println!("  {}\t{}", day.day, day.requests);
    }
}

async fn run_schema(global: &GlobalArgs, legacy: bool) -> Result<(), Failure> {
    let (keys, _) = open(global).await?;
    let account = account_id(&keys, global).await?;
    let models = crate::content::models::models_in_order(&keys.db, &account).await?;
    print!(
        "{}",
        crate::graphql::sdl(&models, legacy).map_err(|err| Failure(err, 1))?
    );
    Ok(())
}
