//! The caller of a request, and the single function that decides what it may do.
//! Every service takes a `&Principal`; nothing else in the code base answers
//! "may this key do that?".

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::access::KeyAccess;

use crate::error::{AppError, AppResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    ReadOnly,
    ReadWrite,
    User,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::ReadOnly => "read_only",
            KeyKind::ReadWrite => "read_write",
            KeyKind::User => "user",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "read_only" => Some(KeyKind::ReadOnly),
            "read_write" => Some(KeyKind::ReadWrite),
            "user" => Some(KeyKind::User),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
}

/// One rule of a user-defined key: what it may do with one content type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Perms {
    pub create: bool,
    pub read: bool,
    pub update: bool,
    pub delete: bool,
}

impl Perms {
    pub fn allows(self, action: Action) -> bool {
        match action {
            Action::Create => self.create,
            Action::Read => self.read,
            Action::Update => self.update,
            Action::Delete => self.delete,
        }
    }

    pub fn any(self) -> bool {
        self.create || self.read || self.update || self.delete
    }
}

/// Which content types a caller may read, in the form queries take it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReadScope {
    All,
    Only(Vec<String>),
}

/// Everything `Principal::can` decides from: two principals with equal scopes may do
/// exactly the same things, so what is built for one (a GraphQL schema) serves both.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SchemaScope {
    kind: KeyKind,
    rules: Vec<(String, Perms)>,
}

/// The account's revisions, read in the same statement that authenticated the key:
/// anything cached from an earlier request is current only if both are unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Revisions {
    /// Bumped with every content type change (`accounts.schema_revision`).
    pub schema: i64,
    /// Grows with every object write (the sum of `content_counts.revision`).
    pub content: i64,
}

/// Who is calling. Its fields are private: a principal comes only from a key the key
/// store authenticated (`KeyStore::authenticate`), or is the named operator of the
/// command line and the demo loader.
#[derive(Clone, Debug)]
pub struct Principal {
    account_id: String,
    key_id: String,
    kind: KeyKind,
    /// Rules of a user-defined key, by content type name; empty for application keys.
    rules: BTreeMap<String, Perms>,
    revisions: Revisions,
    /// Where a user-defined key may be used from (open for every other key).
    access: Arc<KeyAccess>,
    /// Microseconds since the epoch after which the presented secret no longer works
    /// (the key's expiry, or the end of a rotation's grace for the previous secret).
    valid_until: Option<i64>,
    /// The account runs only persisted GraphQL documents.
    persisted_only: bool,
}

/// Permission to write objects of one type, handed out only by `Principal::writer`
/// after the check; the services' write steps require it.
#[derive(Debug)]
pub struct Writer<'a> {
    principal: &'a Principal,
    type_name: String,
}

impl Writer<'_> {
    pub fn account_id(&self) -> &str {
        &self.principal.account_id
    }

    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    pub fn principal(&self) -> &Principal {
        self.principal
    }
}

/// Permission to change content type definitions, handed out only by
/// `Principal::type_admin`.
#[derive(Debug)]
pub struct TypeAdmin<'a> {
    principal: &'a Principal,
}

impl TypeAdmin<'_> {
    pub fn account_id(&self) -> &str {
        &self.principal.account_id
    }
}

impl SchemaScope {
    /// About what a copy of this scope costs in memory.
    pub fn weight(&self) -> usize {
        self.rules.iter().map(|(t, _)| t.len() + 32).sum()
    }
}

impl Principal {
    /// The principal of an authenticated key (the key store's constructor).
    pub(super) fn for_key(
        account_id: String,
        key_id: String,
        kind: KeyKind,
        rules: BTreeMap<String, Perms>,
        revisions: Revisions,
    ) -> Self {
        let rules = if kind == KeyKind::User {
            rules
        } else {
            BTreeMap::new()
        };
        Principal {
            account_id,
            key_id,
            kind,
            rules,
            revisions,
            access: Arc::default(),
            valid_until: None,
            persisted_only: false,
        }
    }

    /// The same principal of an account that runs only persisted GraphQL documents.
    pub(super) fn in_persisted_only_account(mut self, on: bool) -> Self {
        self.persisted_only = on;
        self
    }

    /// Whether the account runs only persisted (stored) GraphQL documents.
    pub fn runs_only_persisted(&self) -> bool {
        self.persisted_only
    }

    /// The same principal limited to `access` (user-defined keys only) and `valid_until`.
    pub(super) fn limited(mut self, access: KeyAccess, valid_until: Option<i64>) -> Self {
        if self.kind == KeyKind::User && !access.is_open() {
            self.access = Arc::new(access);
        }
        self.valid_until = valid_until;
        self
    }

    /// Whether the presented secret still works at `now` (microseconds since the epoch).
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.valid_until.is_none_or(|until| now < until)
    }

    /// Refuses a request from an origin or a client address the key does not allow.
    pub fn require_access(&self, origin: Option<&str>, client: Option<IpAddr>) -> AppResult<()> {
        if self.access.allows(origin, client) {
            Ok(())
        } else {
            Err(AppError::ForbiddenBecause(
                "This key may not be used from this origin or network".into(),
            ))
        }
    }

    /// A principal with no key behind it, for tests of the permission function itself.
    /// Nothing in `src/` outside `auth` may call it (`tests/layering.rs` checks).
    #[doc(hidden)]
    pub fn unchecked(account_id: &str, kind: KeyKind, rules: BTreeMap<String, Perms>) -> Self {
        Principal::for_key(
            account_id.to_owned(),
            "unchecked".to_owned(),
            kind,
            rules,
            Revisions::default(),
        )
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The account's revisions as of this principal's authentication.
    pub fn revisions(&self) -> Revisions {
        self.revisions
    }

    /// A write handle for objects of `content_type`, if every one of `actions` is allowed.
    pub fn writer(&self, content_type: &str, actions: &[Action]) -> AppResult<Writer<'_>> {
        self.require_all(content_type, actions)?;
        Ok(Writer {
            principal: self,
            type_name: content_type.to_owned(),
        })
    }

    /// A handle for definition changes: only the read-write application key (and the
    /// operator) may change content types.
    pub fn type_admin(&self) -> AppResult<TypeAdmin<'_>> {
        self.require_type_admin()?;
        Ok(TypeAdmin { principal: self })
    }

    /// The command line's and the demo loader's caller: the operator, who may do
    /// everything in the account (as its read-write key may).
    pub fn operator(account_id: &str) -> Self {
        Principal {
            account_id: account_id.to_owned(),
            key_id: "operator".to_owned(),
            kind: KeyKind::ReadWrite,
            rules: BTreeMap::new(),
            revisions: Revisions::default(),
            access: Arc::default(),
            valid_until: None,
            persisted_only: false,
        }
    }

    pub fn schema_scope(&self) -> SchemaScope {
        SchemaScope {
            kind: self.kind,
            rules: match self.kind {
                KeyKind::User => self
                    .rules
                    .iter()
                    .filter(|(_, p)| p.any())
                    .map(|(t, p)| (t.clone(), *p))
                    .collect(),
                KeyKind::ReadOnly | KeyKind::ReadWrite => Vec::new(),
            },
        }
    }

    /// May this caller perform `action` on objects of `content_type`?
    pub fn can(&self, content_type: &str, action: Action) -> bool {
        match self.kind {
            KeyKind::ReadWrite => true,
            KeyKind::ReadOnly => action == Action::Read,
            KeyKind::User => self
                .rules
                .get(content_type)
                .is_some_and(|p| p.allows(action)),
        }
    }

    pub fn require(&self, content_type: &str, action: Action) -> AppResult<()> {
        self.require_all(content_type, &[action])
    }

    /// Every one of `actions` on objects of `content_type`, or `Forbidden`.
    pub fn require_all(&self, content_type: &str, actions: &[Action]) -> AppResult<()> {
        if actions.iter().all(|action| self.can(content_type, *action)) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Content type definitions are changed only with the read-write application key.
    pub fn require_type_admin(&self) -> AppResult<()> {
        if self.kind == KeyKind::ReadWrite {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Definitions visible to this caller: all for application keys, and for a
    /// user-defined key those its rules name with at least one permission.
    pub fn definition_scope(&self) -> ReadScope {
        match self.kind {
            KeyKind::ReadOnly | KeyKind::ReadWrite => ReadScope::All,
            KeyKind::User => ReadScope::Only(
                self.rules
                    .iter()
                    .filter(|(_, p)| p.any())
                    .map(|(t, _)| t.clone())
                    .collect(),
            ),
        }
    }

    /// Types whose objects this caller may read (for hydration, search and counts).
    pub fn read_scope(&self) -> ReadScope {
        match self.kind {
            KeyKind::ReadOnly | KeyKind::ReadWrite => ReadScope::All,
            KeyKind::User => ReadScope::Only(
                self.rules
                    .iter()
                    .filter(|(_, p)| p.read)
                    .map(|(t, _)| t.clone())
                    .collect(),
            ),
        }
    }
}

impl ReadScope {
    /// About what a copy of this scope costs in memory.
    pub fn weight(&self) -> usize {
        match self {
            ReadScope::All => 0,
            ReadScope::Only(types) => types.iter().map(|t| t.len() + 24).sum(),
        }
    }

    pub fn contains(&self, content_type: &str) -> bool {
        match self {
            ReadScope::All => true,
            ReadScope::Only(types) => types.iter().any(|t| t == content_type),
        }
    }
}
