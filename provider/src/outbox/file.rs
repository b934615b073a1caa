//! The `file` sender: appends each message as one JSON line to a file in the data
//! directory, so a newcomer reads codes with `tail -f data/outbox.jsonl`. For
//! development only: codes and links are written in plain text there (the file is
//! created mode 0600 inside the private data directory).

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;

use latchkey_core::code::{Message, Outbox};
use latchkey_core::{Error, Result};
use serde_json::json;

use crate::outbox::render;

pub struct FileOutbox {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileOutbox {
    pub fn new(path: PathBuf) -> Self {
        FileOutbox { path, lock: Mutex::new(()) }
    }

    fn append(&self, message: &Message) -> Result<()> {
        let text = render::render(message);
        let line = json!({
            "tenant": message.tenant, "channel": message.to.channel, "to": message.to.address,
            "subject": text.subject, "body": text.body, "message": message.kind,
        });
        let _guard = self.lock.lock().map_err(|_| Error::Delivery("outbox lock".into()))?;
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, crate::data_dir::FILE_MODE);
        let mut f = opts.open(&self.path).map_err(|e| Error::Delivery(format!("{}: {e}", self.path.display())))?;
        writeln!(f, "{line}").map_err(|e| Error::Delivery(e.to_string()))
    }
}

impl Outbox for FileOutbox {
    fn deliver<'a>(&'a self, message: &'a Message) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
        Box::pin(async move { self.append(message) })
    }
}
