//! The reader's terminals for the quick start test: long-running blocks in the background
//! (`Background`) and the commands typed one block after another (`Shell`), all in `bash` with
//! the test's `hookwire` first on PATH.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::binary;

/// The longest wait for any one step (a process to get ready, a block to finish, an event).
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// `bash` as the page's reader has it: the test's `hookwire` first on PATH, no `HOOKWIRE_*`
/// variables of the caller, in `dir`, in a process group of its own (killed as a whole).
fn bash(dir: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let bin_dir: PathBuf = binary()
        .parent()
        .expect("the binary's directory")
        .to_path_buf();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin_dir];
    paths.extend(std::env::split_paths(&path));
    let mut command = Command::new("bash");
    command
        .current_dir(dir)
        .env("PATH", std::env::join_paths(paths).expect("PATH"))
        .process_group(0);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HOOKWIRE_") {
            command.env_remove(name);
        }
    }
    command
}

/// Kills a process group (SIGKILL) and reaps its leader.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
}

/// Collects the lines `from` writes (lossy UTF-8) into `into`, in a thread, until it closes.
fn collect_lines(from: impl Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            let text = String::from_utf8_lossy(&line).trim_end().to_string();
            into.lock().unwrap_or_else(|e| e.into_inner()).push(text);
            line.clear();
        }
    });
}

/// A long-running block (terminal 1 or 2), its output (stdout, then stderr) kept line by line.
pub struct Background {
    name: &'static str,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Background {
    pub fn start(name: &'static str, script: &str, dir: &Path, env: &[(&str, &str)]) -> Background {
        let mut child = bash(dir)
            .arg("-c")
            .arg(script)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start bash");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        collect_lines(child.stdout.take().expect("stdout"), stdout.clone());
        collect_lines(child.stderr.take().expect("stderr"), stderr.clone());
        Background {
            name,
            child,
            stdout,
            stderr,
        }
    }

    fn stdout(&self) -> Vec<String> {
        self.stdout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits for the first stdout line starting with `prefix` and returns it.
    pub fn wait_for_line(&mut self, prefix: &str) -> String {
        let what = format!("a line starting with {prefix:?}");
        self.wait(&what, "", |lines| {
            lines.iter().find(|l| l.starts_with(prefix)).cloned()
        })
    }

    /// Waits until stdout has `n` lines and returns them; `context` goes into the failure
    /// message (what the other terminals showed).
    pub fn wait_for_lines(&mut self, n: usize, context: &str) -> Vec<String> {
        self.wait(&format!("{n} lines"), context, |lines| {
            (lines.len() >= n).then(|| lines.to_vec())
        })
    }

    fn wait<T>(&mut self, what: &str, context: &str, found: impl Fn(&[String]) -> Option<T>) -> T {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let exited = self.child.try_wait().ok().flatten();
            // Looked at after `try_wait`: what it printed before exiting counts.
            if let Some(t) = found(&self.stdout()) {
                return t;
            }
            if exited.is_some() || Instant::now() > deadline {
                let why = match exited {
                    Some(status) => format!("it exited ({status})"),
                    None => format!("not within {STEP_TIMEOUT:?}"),
                };
                panic!(
                    "{}: no {what}: {why}\n{context}\n{}",
                    self.name,
                    self.transcript()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything it printed so far, for failure messages.
    pub fn transcript(&self) -> String {
        let stderr = self
            .stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        format!(
            "{} stdout:\n{}\n{} stderr:\n{}",
            self.name,
            self.stdout().join("\n"),
            self.name,
            stderr.join("\n")
        )
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// Terminal 3: one `bash` session fed block after block, so that variables carry over.
pub struct Shell {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    transcript: Vec<String>,
}

/// Printed after each block; reaching it means every command of the block succeeded.
const BLOCK_DONE: &str = "@@quickstart-block-done@@";

impl Shell {
    pub fn start(dir: &Path) -> Shell {
        let mut child = bash(dir)
            .args(["-e", "-o", "pipefail", "-s"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bash");
        let mut stdin = child.stdin.take().expect("stdin");
        // Errors go with the output they belong to.
        stdin.write_all(b"exec 2>&1\n").expect("write to bash");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&line).trim_end().to_string();
                if send.send(text).is_err() {
                    return;
                }
                line.clear();
            }
        });
        Shell {
            child,
            stdin,
            lines,
            transcript: Vec::new(),
        }
    }

    /// Runs `code` (the block named `label`) and waits until it has finished; panics, with what the
    /// session printed, if a command failed or it took longer than `STEP_TIMEOUT`.
    pub fn run(&mut self, label: &str, code: &str) {
        self.transcript.push(format!("$ # {label}"));
        let script = format!("{code}\nprintf '\\n%s\\n' '{BLOCK_DONE}'\n");
        if self.stdin.write_all(script.as_bytes()).is_err() {
            panic!("{label}: bash has exited\n{}", self.transcript());
        }
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == BLOCK_DONE => return,
                Ok(line) => self.transcript.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "{label}: not done within {STEP_TIMEOUT:?}\n{}",
                        self.transcript()
                    )
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    panic!(
                        "{label}: a command failed (bash {status})\n{}",
                        self.transcript()
                    )
                }
            }
        }
    }

    pub fn transcript(&self) -> String {
        self.transcript.join("\n")
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}
