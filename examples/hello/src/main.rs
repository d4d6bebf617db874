//! `hello`: a tiny HTTP service, the example app that Gantry builds, tests and packages.
//!
//! `GET /` answers with a greeting and the version, `GET /healthz` with `ok`. The port comes
//! from `PORT` (default 8080; `0` picks a free one); the address is printed on start.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".to_owned());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on {}", listener.local_addr()?);
    for stream in listener.incoming() {
        if let Err(err) = serve(stream?) {
            eprintln!("request failed: {err}");
        }
    }
    Ok(())
}

fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let mut request_line = String::new();
    BufReader::new(&stream).read_line(&mut request_line)?;
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = respond(path, option_env!("HELLO_VERSION").unwrap_or("dev"));
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The status line and body for a request path.
fn respond(path: &str, version: &str) -> (&'static str, String) {
    match path {
        "/" => ("200 OK", format!("hello from version {version}\n")),
        "/healthz" => ("200 OK", "ok\n".to_owned()),
        _ => ("404 Not Found", "not found\n".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::respond;

    #[test]
    fn routes() {
        assert_eq!(respond("/", "1.0.3"), ("200 OK", "hello from version 1.0.3\n".to_owned()));
        assert_eq!(respond("/healthz", "1.0.3").1, "ok\n");
        assert_eq!(respond("/nope", "1.0.3").0, "404 Not Found");
    }
}
