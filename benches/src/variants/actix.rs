//! actix-session 0.11 on actix-web 4 with one worker: `CookieSessionStore` and
//! `RedisSessionStore`, both with `SessionMiddleware::new(store, key)`, i.e. every default:
//! `Private` content security (AES-256-GCM), browser-session lifecycle, cookie `id`.
//!
//! The session is actix-session's dynamic map, holding the same `Counter` / `Large` values
//! under the keys `counter` / `large`.

use actix_session::storage::{CookieSessionStore, RedisSessionStore};
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{App, HttpServer, web};

use super::{BoxError, ServerEnv, Variant};
use crate::app::{
    COUNTER_NAME, COUNTER_PATH, Counter, KEY, LARGE_NAME, LARGE_PATH, Large, UNTOUCHED_BODY,
    UNTOUCHED_PATH, next_counter, next_large,
};
use crate::inproc::{Drive, Probe};

async fn counter(session: Session) -> actix_web::Result<String> {
    let previous: Option<Counter> = session.get(COUNTER_NAME)?;
    let next = next_counter(previous);
    session.insert(COUNTER_NAME, &next)?;
    Ok(next.count.to_string())
}

async fn large(session: Session) -> actix_web::Result<String> {
    let previous: Option<Large> = session.get(LARGE_NAME)?;
    let next = next_large(previous)
        .map_err(|_| actix_web::error::ErrorInternalServerError("the 2 KiB string changed"))?;
    session.insert(LARGE_NAME, &next)?;
    Ok(next.count.to_string())
}

async fn untouched() -> &'static str {
    UNTOUCHED_BODY
}

fn routes(config: &mut web::ServiceConfig) {
    config
        .route(COUNTER_PATH, web::get().to(counter))
        .route(LARGE_PATH, web::get().to(large))
        .route(UNTOUCHED_PATH, web::get().to(untouched));
}

/// Serves an actix variant on `listener` until the process is killed.
pub fn serve(
    variant: Variant,
    listener: std::net::TcpListener,
    env: &ServerEnv,
) -> Result<(), BoxError> {
    let redis_url = match variant {
        Variant::ActixSessionRedis => Some(env.redis(variant)?.to_owned()),
        _ => None,
    };
    actix_web::rt::System::new().block_on(async move {
        let key = Key::from(&KEY);
        match redis_url {
            None => {
                HttpServer::new(move || {
                    App::new()
                        .wrap(SessionMiddleware::new(
                            CookieSessionStore::default(),
                            key.clone(),
                        ))
                        .configure(routes)
                })
                .workers(1)
                .listen(listener)?
                .run()
                .await?
            }
            Some(url) => {
                let store = RedisSessionStore::new(url).await?;
                HttpServer::new(move || {
                    App::new()
                        .wrap(SessionMiddleware::new(store.clone(), key.clone()))
                        .configure(routes)
                })
                .workers(1)
                .listen(listener)?
                .run()
                .await?
            }
        }
        Ok(())
    })
}

/// Runs `drive` against the in-process `CookieSessionStore` app (no network, no dispatcher).
pub fn in_process(drive: &Drive, probe: &dyn Probe) -> Result<u64, String> {
    actix_web::rt::System::new().block_on(async {
        let app = actix_web::test::init_service(
            App::new()
                .wrap(SessionMiddleware::new(
                    CookieSessionStore::default(),
                    Key::from(&KEY),
                ))
                .configure(routes),
        )
        .await;
        let mut target = ActixTarget(app);
        drive.run(&mut target, probe).await
    })
}

struct ActixTarget<S>(S);

impl<S, B> crate::inproc::Target for ActixTarget<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    async fn call(
        &mut self,
        path: &'static str,
        cookie: Option<&str>,
        probe: &dyn Probe,
    ) -> Result<crate::inproc::Reply, String> {
        let mut request = actix_web::test::TestRequest::get().uri(path);
        if let Some(cookie) = cookie {
            request = request.insert_header((actix_web::http::header::COOKIE, cookie));
        }
        let request = request.to_request();
        let service = &self.0;
        let response =
            crate::inproc::server_call(async move { service.call(request).await }, probe).await;
        let response = response.map_err(|e| format!("actix service error: {e}"))?;
        let status = response.status().as_u16();
        let set_cookies = response
            .headers()
            .get_all(actix_web::http::header::SET_COOKIE)
            .map(|v| bytes::Bytes::copy_from_slice(v.as_bytes()))
            .collect();
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .map_err(|_| "error reading the actix body".to_owned())?;
        Ok(crate::inproc::Reply {
            status,
            set_cookies,
            body,
        })
    }
}
