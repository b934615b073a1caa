//! A typed view of one sled transaction over several trees, and the runner that
//! drives an async transaction closure inside sled's synchronous one.

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::{Record, decode, encode, key};
use crate::error::{Error, Result};

/// The result type inside a transaction closure.
pub type TxResult<T> = std::result::Result<T, ConflictableTransactionError<Error>>;

/// Aborts the transaction with a domain error.
pub fn abort<T>(e: Error) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn storage(e: Error) -> ConflictableTransactionError<Error> {
    ConflictableTransactionError::Abort(e)
}

/// The trees of one transaction, addressed by record type. Its operations are
/// `async` for engines that talk to a server; on sled they never wait.
pub struct Tx<'a> {
    trees: &'a [TransactionalTree],
    names: &'a [&'static str],
}

impl Tx<'_> {
    fn tree<R: Record>(&self) -> TxResult<&TransactionalTree> {
        match self.names.iter().position(|n| *n == R::TREE) {
            Some(i) => Ok(&self.trees[i]),
            None => abort(Error::Storage(format!("tree {} not in transaction", R::TREE))),
        }
    }

    /// Reads a record inside the transaction.
    pub async fn get<R: Record>(&self, tenant: &str, id: &str) -> TxResult<Option<R>> {
        match self.tree::<R>()?.get(key(tenant, id))? {
            Some(bytes) => Ok(Some(decode(&bytes).map_err(storage)?)),
            None => Ok(None),
        }
    }

    /// Writes a record inside the transaction.
    pub async fn put<R: Record>(&self, tenant: &str, id: &str, record: &R) -> TxResult<()> {
        self.tree::<R>()?.insert(key(tenant, id), encode(record).map_err(storage)?)?;
        Ok(())
    }

    /// Removes a record inside the transaction.
    pub async fn remove<R: Record>(&self, tenant: &str, id: &str) -> TxResult<()> {
        self.tree::<R>()?.remove(key(tenant, id))?;
        Ok(())
    }
}

/// Why a transaction was refused when its closure waited on something else.
pub(super) const AWAITED_OTHER: &str = "a transaction awaited something other than the store";

/// Runs `f` inside one sled transaction. sled's closure is synchronous and its `Tx`
/// operations never wait, so the future `f(&tx)` is polled once and is ready; one
/// that pends awaited something else, and the transaction is aborted (nothing
/// written) rather than blocking a runtime thread on it.
pub(super) fn run<T>(
    trees: &[sled::Tree],
    names: &[&'static str],
    f: impl AsyncFn(&Tx<'_>) -> TxResult<T>,
) -> Result<T> {
    let result = trees.transaction(|opened: &Vec<TransactionalTree>| {
        let tx = Tx { trees: opened, names };
        let future = pin!(f(&tx));
        match future.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(r) => r,
            Poll::Pending => abort(Error::Storage(AWAITED_OTHER.into())),
        }
    });
    match result {
        Ok(v) => Ok(v),
        Err(TransactionError::Abort(e)) => Err(e),
        Err(TransactionError::Storage(e)) => Err(e.into()),
    }
}
