//! HTTP: actix-web handlers, thin. Each parses, authenticates, calls one use
//! case and maps the answer.

pub mod accounts;
pub mod activities;
pub mod audit_log;
pub mod auth;
pub mod check_ins;
pub mod coordinator_app;
pub mod docs;
pub mod earning_rules;
pub mod extract;
pub mod health;
pub mod leaderboards;
pub mod ledgers;
pub mod listener;
pub mod metrics;
pub mod openapi;
pub mod organisations;
pub mod problem;
pub mod request_log;
pub mod respond;
pub mod service_csv;
pub mod service_records;
pub mod transfers;
pub mod unrouted;
pub mod users;
pub mod volunteers;

use actix_web::{HttpServer, web};

use crate::app::App;
use crate::config::Config;
use crate::error::AppError;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(problem::json_error),
    )
    .app_data(web::PayloadConfig::default().limit(MAX_BODY_BYTES))
    .app_data(web::PathConfig::default().error_handler(problem::path_error))
    // actix tries routes in this order, matching each `{id}` pattern with a
    // regex on the way: the busiest route goes first.
    .service(transfers::create_transfer)
    .service(health::healthz)
    .service(health::readyz)
    .service(metrics::metrics)
    .service(auth::token)
    .service(auth::refresh)
    .service(auth::logout)
    .service(organisations::create_organisation)
    .service(organisations::list_organisations)
    .service(organisations::get_organisation)
    .service(organisations::update_organisation)
    .service(users::create_user)
    .service(users::list_users)
    .service(users::get_user)
    .service(users::update_user)
    .service(users::grant_role)
    .service(users::revoke_role)
    .service(users::me)
    .service(users::update_me)
    .service(users::change_password)
    .service(volunteers::create_volunteer)
    .service(volunteers::list_volunteers)
    .service(volunteers::get_volunteer)
    .service(volunteers::update_volunteer)
    .service(volunteers::volunteer_summary)
    .service(leaderboards::leaderboard)
    .service(check_ins::open_check_in)
    .service(check_ins::list_check_ins)
    .service(check_ins::get_check_in)
    .service(check_ins::confirm_check_in)
    .service(check_ins::check_in)
    .service(check_ins::check_out)
    .service(service_records::record_service)
    .service(service_records::record_service_batch)
    .service(service_records::record_event)
    .service(service_records::list_service_records)
    .service(service_records::get_service_record)
    .service(service_records::reverse_service_record)
    .service(service_records::approve_service_record)
    .service(service_records::reject_service_record)
    .service(activities::create_activity)
    .service(activities::list_activities)
    .service(activities::get_activity)
    .service(activities::update_activity)
    .service(earning_rules::create_earning_rule)
    .service(earning_rules::list_earning_rules)
    .service(audit_log::audit_log)
    .service(ledgers::create_ledger)
    .service(ledgers::list_ledgers)
    .service(ledgers::get_ledger)
    .service(ledgers::verify_ledger)
    .service(accounts::open_account)
    .service(accounts::list_accounts)
    .service(accounts::get_account)
    .service(accounts::balance)
    .service(accounts::postings)
    .service(accounts::freeze)
    .service(accounts::unfreeze)
    .service(accounts::close)
    .service(transfers::list_transfers)
    .service(transfers::get_transfer)
    .service(transfers::post_pending)
    .service(transfers::void_pending)
    .service(transfers::reverse)
    .service(docs::index)
    .service(docs::swagger_ui())
    // Swagger UI answers only under `/docs/`; lead the bare names there.
    .service(web::redirect("/docs", "/docs/").permanent())
    .service(coordinator_app::index)
    .service(coordinator_app::file)
    // The app's service worker is scoped to `/app/`.
    .service(web::redirect("/app", "/app/").permanent())
    .service(web::redirect("/", "/docs/"));
}

/// Runs the service until SIGINT/SIGTERM, then lets in-flight requests and the
/// writer's last batch finish.
pub async fn serve(config: Config) -> Result<(), AppError> {
    // Bind before opening the database: a port in use is refused at once, with
    // nothing created or migrated.
    let listeners = listener::bind(&config.bind)?;
    let (app, writer_thread) = App::start(&config)?;
    let maintenance = actix_web::rt::spawn(app.clone().run_maintenance());
    let checkpoints = actix_web::rt::spawn(app.clone().run_checkpoints());
    let data = web::Data::new(app);
    let server = HttpServer::new({
        let data = data.clone();
        move || {
            actix_web::App::new()
                .app_data(data.clone())
                .wrap(actix_web::middleware::from_fn(request_log::log_request))
                .configure(routes)
                .default_service(web::to(unrouted::unrouted))
        }
    })
    .shutdown_timeout(30);
    let mut server = if config.workers > 0 {
        server.workers(config.workers)
    } else {
        server
    };
    for listener in listeners {
        server = server.listen(listener).map_err(AppError::internal)?;
    }
    for addr in server.addrs() {
        // Tests and scripts read this line to learn the port.
        println!("listening on {addr}");
        tracing::info!(%addr, database = %config.database_url, "timebank listening");
    }
    server.run().await.map_err(AppError::internal)?;
    for task in [maintenance, checkpoints] {
        task.abort();
        let _ = task.await;
    }
    drop(data);
    tokio::task::spawn_blocking(move || writer_thread.join())
        .await
        .map_err(AppError::internal)?;
    tracing::info!("stopped");
    Ok(())
}
