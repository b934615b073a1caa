//! A typed view of one sled transaction over several trees.

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

/// The trees of one transaction, addressed by record type.
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

    pub fn get<R: Record>(&self, tenant: &str, id: &str) -> TxResult<Option<R>> {
        match self.tree::<R>()?.get(key(tenant, id))? {
            Some(bytes) => Ok(Some(decode(&bytes).map_err(storage)?)),
            None => Ok(None),
        }
    }

    pub fn put<R: Record>(&self, tenant: &str, id: &str, record: &R) -> TxResult<()> {
        self.tree::<R>()?.insert(key(tenant, id), encode(record).map_err(storage)?)?;
        Ok(())
    }

    pub fn remove<R: Record>(&self, tenant: &str, id: &str) -> TxResult<()> {
        self.tree::<R>()?.remove(key(tenant, id))?;
        Ok(())
    }
}

pub(super) fn run<T>(trees: &[sled::Tree], names: &[&'static str], f: impl Fn(&Tx<'_>) -> TxResult<T>) -> Result<T> {
    let result = trees.transaction(|opened: &Vec<TransactionalTree>| f(&Tx { trees: opened, names }));
    match result {
        Ok(v) => Ok(v),
        Err(TransactionError::Abort(e)) => Err(e),
        Err(TransactionError::Storage(e)) => Err(e.into()),
    }
}
