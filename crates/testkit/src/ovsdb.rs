//! Fake ovsdb-servers on a unix socket: one for the OVSDB client's hostile tests (a scripted
//! first connection that may misbehave at the byte level) and one for the userspace plugin's
//! tests (every JSON-RPC request answered by the test's function, connections one after the
//! other). Both read requests the same way, with serde_json's own framing, not the client's.

use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::thread;

use serde_json::{json, Value};

/// One accepted connection: JSON-RPC requests read off it one at a time; written to as a
/// stream (a test may write anything, a byte at a time).
#[derive(Debug)]
pub struct Conn {
    stream: UnixStream,
    pending: Vec<u8>,
}

impl Conn {
    pub fn new(stream: UnixStream) -> Conn {
        Conn {
            stream,
            pending: Vec::new(),
        }
    }

    /// The next request; `None` once the client has closed the connection or sent
    /// something that is not JSON.
    pub fn request(&mut self) -> Option<Value> {
        let mut buf = [0u8; 65536];
        loop {
            let mut values = serde_json::Deserializer::from_slice(&self.pending).into_iter();
            match values.next() {
                Some(Ok(v)) => {
                    let used = values.byte_offset();
                    self.pending.drain(..used);
                    return Some(v);
                }
                Some(Err(e)) if !e.is_eof() => return None,
                _ => {}
            }
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Replies to the request with id `id`: `{"id", "result", "error": null}`.
    pub fn reply(&mut self, id: &Value, result: Value) -> io::Result<()> {
        let reply = json!({"id": id, "result": result, "error": null});
        self.stream.write_all(reply.to_string().as_bytes())
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// A socket in a fresh scratch directory (removed when dropped) whose first connection is
/// handed to `behave` on a thread: a server scripted byte by byte.
#[derive(Debug)]
pub struct ScriptedServer {
    dir: PathBuf,
}

impl ScriptedServer {
    pub fn start(name: &str, behave: impl FnOnce(Conn) + Send + 'static) -> ScriptedServer {
        let dir = std::env::temp_dir().join(format!("nfv-ovsdb-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let listener = UnixListener::bind(dir.join("db.sock")).unwrap();
        thread::spawn(move || {
            if let Ok((conn, _)) = listener.accept() {
                behave(Conn::new(conn));
            }
        });
        ScriptedServer { dir }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("db.sock")
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Listens on `path` and serves every connection, one after the other, on a thread: each
/// request is answered with `answer(request)` as its result, until the client closes.
pub fn serve(path: &Path, mut answer: impl FnMut(&Value) -> Value + Send + 'static) {
    let listener = UnixListener::bind(path).unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut conn = Conn::new(stream);
            while let Some(req) = conn.request() {
                let result = answer(&req);
                if conn.reply(&req["id"], result).is_err() {
                    break;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_split_and_joined_across_reads_come_out_whole() {
        let (tx, rx) = std::sync::mpsc::channel();
        let server = ScriptedServer::start("frames", move |mut conn| {
            let mut seen = Vec::new();
            while let Some(req) = conn.request() {
                seen.push(req["id"].clone());
            }
            tx.send(seen).unwrap();
        });
        let mut c = UnixStream::connect(server.socket()).unwrap();
        c.write_all(br#"{"id":1,"method":"a","params":[]}{"id":2,"#)
            .unwrap();
        thread::sleep(std::time::Duration::from_millis(20));
        c.write_all(br#""method":"b","params":[]} {"id":3,"method":"c","params":[]}"#)
            .unwrap();
        drop(c);
        let seen = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(seen, [json!(1), json!(2), json!(3)]);
    }

    #[test]
    fn serve_answers_each_request_with_its_id() {
        let dir = std::env::temp_dir().join(format!("nfv-testkit-serve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        serve(&dir.join("db.sock"), |req| json!([req["method"]]));
        for _ in 0..2 {
            let mut c = Conn::new(UnixStream::connect(dir.join("db.sock")).unwrap());
            c.write_all(br#"{"id":7,"method":"list_dbs","params":[]}"#)
                .unwrap();
            let reply = c.request().unwrap();
            assert_eq!(
                reply,
                json!({"id": 7, "result": ["list_dbs"], "error": null})
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
