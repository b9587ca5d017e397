"""The state store's SQL schema, as the migrations that build it one version at a time.

A file at version N is brought up to date by running every step after the N-th, each in its own
transaction; a new table or column is a new step at the end, never an edit of an old one.
"""

# Each step upgrades the schema from version N to N + 1; the last step defines the current one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE baseline_scope (
            pair TEXT NOT NULL, feature TEXT NOT NULL, side TEXT NOT NULL,
            provider TEXT NOT NULL, saved_at TEXT NOT NULL,
            PRIMARY KEY (pair, feature, side)) WITHOUT ROWID""",
        """CREATE TABLE baseline_entry (
            pair TEXT NOT NULL, feature TEXT NOT NULL, side TEXT NOT NULL, key TEXT NOT NULL,
            item TEXT NOT NULL, payload TEXT NOT NULL,
            PRIMARY KEY (pair, feature, side, key)) WITHOUT ROWID""",
        """CREATE TABLE checkpoint (
            provider TEXT NOT NULL, feature TEXT NOT NULL,
            watermark TEXT, etag TEXT, updated_at TEXT NOT NULL,
            PRIMARY KEY (provider, feature)) WITHOUT ROWID""",
        """CREATE TABLE tombstone (
            pair TEXT NOT NULL, feature TEXT NOT NULL, side TEXT NOT NULL, key TEXT NOT NULL,
            item TEXT NOT NULL, removed_at TEXT NOT NULL, seen_by TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            PRIMARY KEY (pair, feature, side, key)) WITHOUT ROWID""",
        """CREATE TABLE run (
            id INTEGER PRIMARY KEY AUTOINCREMENT, pair TEXT NOT NULL,
            started_at TEXT NOT NULL, finished_at TEXT, status TEXT, result TEXT)""",
        "CREATE INDEX run_by_pair ON run (pair, id)",
        """CREATE TABLE held (
            id INTEGER PRIMARY KEY AUTOINCREMENT, pair TEXT NOT NULL, operation TEXT NOT NULL,
            identity TEXT NOT NULL, reason TEXT NOT NULL, held_at TEXT NOT NULL,
            UNIQUE (pair, identity))""",
        """CREATE TABLE unresolved (
            pair TEXT NOT NULL, feature TEXT NOT NULL, side TEXT NOT NULL, key TEXT NOT NULL,
            item TEXT NOT NULL, reason TEXT NOT NULL, attempts INTEGER NOT NULL,
            first_failed_at TEXT NOT NULL, next_attempt_at TEXT NOT NULL,
            PRIMARY KEY (pair, feature, side, key)) WITHOUT ROWID""",
        """CREATE TABLE blackbox (
            pair TEXT NOT NULL, feature TEXT NOT NULL, side TEXT NOT NULL, key TEXT NOT NULL,
            item TEXT NOT NULL, failures INTEGER NOT NULL, last_error TEXT NOT NULL,
            quarantined_until TEXT,
            PRIMARY KEY (pair, feature, side, key)) WITHOUT ROWID""",
        """CREATE TABLE pending (
            pair TEXT NOT NULL, feature TEXT NOT NULL, side TEXT NOT NULL, key TEXT NOT NULL,
            action TEXT NOT NULL, item TEXT NOT NULL, payload TEXT, outcome TEXT NOT NULL,
            run_id INTEGER NOT NULL, written_at TEXT NOT NULL, misses INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (pair, feature, side, key, action)) WITHOUT ROWID""",
        """CREATE TABLE shadow (
            pair TEXT NOT NULL, feature TEXT NOT NULL, side TEXT NOT NULL,
            local_token TEXT NOT NULL, tokens TEXT NOT NULL, written_at TEXT NOT NULL,
            absent_runs INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (pair, feature, side, local_token)) WITHOUT ROWID""",
        """CREATE TABLE kept (
            pair TEXT NOT NULL, feature TEXT NOT NULL, side TEXT NOT NULL, key TEXT NOT NULL,
            item TEXT NOT NULL, decided_at TEXT NOT NULL,
            PRIMARY KEY (pair, feature, side, key)) WITHOUT ROWID""",
    ),
    (
        # Where each item's state came from: seen on the provider, or written by our run.
        """CREATE TABLE provenance (
            provider TEXT NOT NULL, feature TEXT NOT NULL, key TEXT NOT NULL,
            value TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
            present INTEGER NOT NULL, written_by_run INTEGER,
            PRIMARY KEY (provider, feature, key)) WITHOUT ROWID""",
        # Ids the backfill lent an item, per pair scope (original key -> tokens).
        """CREATE TABLE learned_ids (
            pair TEXT NOT NULL, feature TEXT NOT NULL, side TEXT NOT NULL, key TEXT NOT NULL,
            tokens TEXT NOT NULL,
            PRIMARY KEY (pair, feature, side, key)) WITHOUT ROWID""",
        # The last copy of each id mapping source, compressed.
        """CREATE TABLE id_map (
            source TEXT PRIMARY KEY, records BLOB NOT NULL, validator TEXT,
            fetched_at TEXT NOT NULL, checked_at TEXT NOT NULL)""",
    ),
    (
        # Read cursors belong to the pair side that read them: two pairs on one account each
        # follow the account from where they themselves last stood. The old per-account
        # cursors cannot be split, so they go (the next read of each side is a full one).
        "DROP TABLE checkpoint",
        """CREATE TABLE checkpoint (
            pair TEXT NOT NULL, feature TEXT NOT NULL, side TEXT NOT NULL,
            provider TEXT NOT NULL, watermark TEXT, etag TEXT, updated_at TEXT NOT NULL,
            PRIMARY KEY (pair, feature, side)) WITHOUT ROWID""",
        # A shrink no single read may prove: what was missing, waiting for a confirming read.
        """CREATE TABLE shrink_suspicion (
            pair TEXT NOT NULL, feature TEXT NOT NULL, side TEXT NOT NULL,
            missing BLOB NOT NULL, expected INTEGER NOT NULL, seen INTEGER NOT NULL,
            noticed_at TEXT NOT NULL,
            PRIMARY KEY (pair, feature, side)) WITHOUT ROWID""",
    ),
    (
        # What earlier suspicions lacked and a later read showed again, carried by the one
        # that replaced them (compressed JSON list, like `missing`).
        "ALTER TABLE shrink_suspicion ADD COLUMN regained BLOB",
    ),
    (
        # A pair side whose last run had nothing to do, and the version of the read it had
        # nothing to do with: the next run skips planning while both reads stay that version
        # (engine/settle.py). Forgotten at every start.
        """CREATE TABLE settled (
            pair TEXT NOT NULL, feature TEXT NOT NULL, side TEXT NOT NULL,
            provider TEXT NOT NULL, version TEXT NOT NULL, spec TEXT NOT NULL,
            valid_until TEXT NOT NULL,
            PRIMARY KEY (pair, feature, side)) WITHOUT ROWID""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
