//! A fresh PostgreSQL database per test, cloned from one migrated template per test
//! process, on the server named by `SLUICE_TEST_DATABASE_URL`.

use std::{
    net::{SocketAddr, ToSocketAddrs},
    sync::atomic::{AtomicU32, Ordering},
};

use tokio::sync::OnceCell;
use tokio_postgres::{Client, NoTls};

const URL_VARIABLE: &str = "SLUICE_TEST_DATABASE_URL";

static TEMPLATE: OnceCell<String> = OnceCell::const_new();
static NEXT: AtomicU32 = AtomicU32::new(0);

/// The server's URL with the database part replaced by `name`.
pub fn url_for(name: &str) -> String {
    let server = server_url();
    let (base, _) = server
        .rsplit_once('/')
        .expect("SLUICE_TEST_DATABASE_URL has the form postgres://user@host:port/db");
    format!("{base}/{name}")
}

/// The host and port of a database URL (`postgres://user@host:port/db`).
pub fn server_addr(url: &str) -> SocketAddr {
    let authority = url
        .split_once('@')
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.split('/').next())
        .expect("the database URL names user@host:port");
    authority
        .to_socket_addrs()
        .expect("resolve the database address")
        .next()
        .expect("the database host has an address")
}

/// `url` with its host and port replaced by `addr`.
pub fn with_addr(url: &str, addr: SocketAddr) -> String {
    let (user, rest) = url.split_once('@').expect("the database URL names a user");
    let (_, path) = rest
        .split_once('/')
        .expect("the database URL names a database");
    format!("{user}@{addr}/{path}")
}

fn server_url() -> String {
    std::env::var(URL_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{URL_VARIABLE} is not set: run the tests with scripts/test, which starts a \
             throwaway PostgreSQL, or point it at a server where this role may create databases"
        )
    })
}

async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to the test PostgreSQL: {e}"));
    tokio::spawn(connection);
    client
}

/// Creates a new, migrated, empty database and returns its URL.
pub async fn fresh() -> String {
    let template = TEMPLATE
        .get_or_init(|| async {
            let name = format!(
                "sluice_tpl_{}_{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            );
            let admin = connect(&server_url()).await;
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create the template database");
            sluice_control::migrate(&url_for(&name))
                .await
                .expect("migrate the template database");
            name
        })
        .await;

    let name = format!(
        "sluice_t_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let admin = connect(&server_url()).await;
    // Cloning is refused while another session is connected to the template; the only
    // sessions that connect to it are the migration above and other clones, so retry a
    // clone that collided with a concurrent one.
    let mut attempt = 0;
    loop {
        match admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
        {
            Ok(()) => break,
            Err(e) if attempt < 50 => {
                attempt += 1;
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("clone the template database: {e}"),
        }
    }
    url_for(&name)
}

/// A direct connection to a test database, for asserting what is stored.
pub async fn client(url: &str) -> Client {
    connect(url).await
}
