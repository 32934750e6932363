//! The listening sockets, bound before anything else starts.

use std::net::{TcpListener, ToSocketAddrs};

use crate::error::{AppError, ErrorCode};

/// Connections the kernel queues before the workers accept them (actix's own
/// default; `std::net::TcpListener::bind` would give 128).
const BACKLOG: i32 = 1024;

/// Binds every address `bind` resolves to (as actix's `bind` would), so that a
/// port in use is refused before the database is opened or created.
pub fn bind(bind: &str) -> Result<Vec<TcpListener>, AppError> {
    let refused = |e: std::io::Error| {
        AppError::new(
            ErrorCode::ServiceUnavailable,
            format!("cannot listen on {bind}: {e}"),
        )
    };
    let mut listeners = Vec::new();
    let mut last_error = None;
    for addr in bind.to_socket_addrs().map_err(refused)? {
        match listen(addr) {
            Ok(listener) => listeners.push(listener),
            Err(e) => last_error = Some(e),
        }
    }
    match (listeners.is_empty(), last_error) {
        (true, Some(e)) => Err(refused(e)),
        (true, None) => Err(refused(std::io::Error::other(
            "the address resolves to nothing",
        ))),
        (false, _) => Ok(listeners),
    }
}

fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}
