//! Helpers shared by the process-level tests of `conveyor`.
#![allow(dead_code)]

/// A port on 127.0.0.1 nobody listens on now (the OS's pick).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
