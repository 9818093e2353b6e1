//! One benchmark server: `bench-server --variant NAME [--port 0] [--pin CORE] [--redis URL]
//! [--postgres URL] [--data-dir DIR]`.
//!
//! Listens on 127.0.0.1 (port 0 picks a free one), prints `listening 127.0.0.1:PORT` on stdout
//! once it accepts connections, and serves until killed. axum variants run on a tokio
//! current-thread runtime; actix-web variants on one worker.

use std::io::Write as _;
use std::net::SocketAddr;

use axum::serve::ListenerExt as _;
use typed_sessions_bench::affinity;
use typed_sessions_bench::cli::Args;
use typed_sessions_bench::variants::{self, BoxError, Framework, ServerEnv, Variant};

fn main() {
    if let Err(e) = run() {
        eprintln!("bench-server: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), BoxError> {
    let args = Args::parse(&[])?;
    let variant: Variant = args
        .value("variant")
        .ok_or("--variant is required")?
        .parse()?;
    if let Some(core) = args.opt::<usize>("pin")? {
        affinity::pin_current(core)?;
    }
    let env = ServerEnv {
        redis_url: args.value("redis").map(str::to_owned),
        postgres_url: args.value("postgres").map(str::to_owned),
        data_dir: args.value("data-dir").map(Into::into),
    };
    let port: u16 = args.get("port", 0)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    match variant.framework() {
        Framework::Actix => {
            let listener = std::net::TcpListener::bind(addr)?;
            announce(listener.local_addr()?)?;
            variants::actix::serve(variant, listener, &env)
        }
        Framework::Axum => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let app = variants::axum_app(variant, &env).await?;
                let listener = tokio::net::TcpListener::bind(addr).await?;
                announce(listener.local_addr()?)?;
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                typed_sessions_bench::with_service!(app, service => {
                    let service = axum::ServiceExt::<axum::extract::Request>::into_make_service(service);
                    axum::serve(listener, service).await?
                });
                Ok(())
            })
        }
    }
}

fn announce(addr: SocketAddr) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening {addr}")?;
    out.flush()
}
