//! The two databases' schemas agree after every migration: the same tables, columns (of the
//! same type family, equally nullable), primary keys, indexes, unique, foreign key and check
//! constraints, read from SQLite's catalog (`sqlite_master`, pragmas) and PostgreSQL's
//! (`information_schema`, `pg_catalog`). A migration written for one database only fails here.

use std::collections::{BTreeMap, BTreeSet};

use gantry_test::TestStore;
use sqlx::{Connection, PgConnection, SqliteConnection};

/// What one database says of its tables, in terms both can be compared in.
type Schema = BTreeMap<String, Table>;

#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// Column name: (type family, nullable).
    columns: BTreeMap<String, (&'static str, bool)>,
    primary_key: Vec<String>,
    indexes: BTreeSet<Index>,
    /// `FOREIGN KEY (…) REFERENCES …(…) ON DELETE …` and `CHECK (…)`, normalized.
    constraints: BTreeSet<String>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    /// The name of an index made with `CREATE INDEX`; `None` for a `UNIQUE` constraint's, whose
    /// name each database makes up.
    name: Option<String>,
    columns: Vec<String>,
    unique: bool,
    /// A partial index's `WHERE`, normalized.
    predicate: Option<String>,
}

/// Indexes only PostgreSQL has, and why.
const POSTGRES_ONLY_INDEXES: &[(&str, &str)] = &[
    // Finding runs by an id prefix compares bytes: SQLite's primary key is in byte order
    // already, PostgreSQL's in the database's collation.
    ("runs", "runs_by_id_prefix"),
];

/// The family of a PostgreSQL type, as SQLite stores the same values: SQLite keeps booleans as
/// 0/1 integers, and times (fixed-format UTC) and JSON as text.
fn postgres_family(data_type: &str) -> &'static str {
    match data_type {
        "bigint" | "integer" | "smallint" | "boolean" => "integer",
        "text" | "character varying" | "timestamp with time zone" | "jsonb" | "json" => "text",
        _ => "unknown",
    }
}

/// The family of a SQLite declared type, by SQLite's rules of type affinity.
fn sqlite_family(declared: &str) -> &'static str {
    let declared = declared.to_ascii_uppercase();
    if declared.contains("INT") {
        "integer"
    } else if declared.contains("CHAR") || declared.contains("CLOB") || declared.contains("TEXT") {
        "text"
    } else {
        "unknown"
    }
}

/// SQL text as both catalogs can be compared: lowercase, without PostgreSQL's casts, parentheses
/// or white space.
fn normalize(sql: &str) -> String {
    let mut text: String = sql
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')')
        .collect();
    for cast in [
        "::text",
        "::bigint",
        "::integer",
        "::boolean",
        "::jsonb",
        "::timestampwithtimezone",
    ] {
        text = text.replace(cast, "");
    }
    text
}

fn foreign_key(from: &[String], table: &str, to: &[String], on_delete: &str) -> String {
    let on_delete = match on_delete {
        "NO ACTION" | "" => String::new(),
        action => format!(" ON DELETE {action}"),
    };
    normalize(&format!(
        "FOREIGN KEY ({}) REFERENCES {table}({}){on_delete}",
        from.join(", "),
        to.join(", ")
    ))
}

/// The `CHECK (…)` clauses of a `CREATE TABLE` statement.
fn checks(create_table: &str) -> Vec<String> {
    let mut found = Vec::new();
    let upper = create_table.to_ascii_uppercase();
    let mut from = 0;
    while let Some(start) = upper[from..].find("CHECK").map(|at| from + at) {
        let mut depth = 0;
        let mut end = start;
        for (offset, c) in create_table[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + offset + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        found.push(normalize(&create_table[start..end]));
        from = end.max(start + 5);
    }
    found
}

async fn sqlite_schema(url: &str) -> Schema {
    let mut conn = SqliteConnection::connect(url).await.unwrap();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master
         WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for (name, create_table) in tables {
        let mut table = Table::default();
        let columns: Vec<(String, String, bool, i64)> =
            sqlx::query_as(r#"SELECT name, type, "notnull", pk FROM pragma_table_info($1) ORDER BY cid"#)
                .bind(&name)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let mut key: Vec<(i64, String)> = columns
            .iter()
            .filter(|column| column.3 > 0)
            .map(|column| (column.3, column.0.clone()))
            .collect();
        key.sort();
        table.primary_key = key.into_iter().map(|(_, column)| column).collect();
        for (column, declared, not_null, pk) in &columns {
            // An `INTEGER PRIMARY KEY` is the row id: never null, whatever the pragma says.
            let row_id = *pk == 1 && table.primary_key.len() == 1 && declared.eq_ignore_ascii_case("INTEGER");
            table
                .columns
                .insert(column.clone(), (sqlite_family(declared), !(*not_null || row_id)));
        }
        let indexes: Vec<(String, bool, String, bool)> =
            sqlx::query_as(r#"SELECT name, "unique", origin, partial FROM pragma_index_list($1)"#)
                .bind(&name)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        for (index, unique, origin, partial) in indexes {
            if origin == "pk" {
                continue;
            }
            let columns: Vec<(String,)> =
                sqlx::query_as("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&index)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            let predicate = if partial {
                let (sql,): (String,) =
                    sqlx::query_as("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1")
                        .bind(&index)
                        .fetch_one(&mut conn)
                        .await
                        .unwrap();
                let at = sql.to_ascii_uppercase().rfind(" WHERE ").unwrap();
                Some(normalize(&sql[at + " WHERE ".len()..]))
            } else {
                None
            };
            table.indexes.insert(Index {
                name: (origin == "c").then_some(index),
                columns: columns.into_iter().map(|(column,)| column).collect(),
                unique,
                predicate,
            });
        }
        let keys: Vec<(i64, String, String, String, String)> = sqlx::query_as(
            r#"SELECT id, "table", "from", "to", on_delete FROM pragma_foreign_key_list($1) ORDER BY id, seq"#,
        )
        .bind(&name)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut by_id: BTreeMap<i64, (String, Vec<String>, Vec<String>, String)> = BTreeMap::new();
        for (id, target, from, to, on_delete) in keys {
            let key = by_id
                .entry(id)
                .or_insert_with(|| (target, Vec::new(), Vec::new(), on_delete));
            key.1.push(from);
            key.2.push(to);
        }
        for (target, from, to, on_delete) in by_id.into_values() {
            table
                .constraints
                .insert(foreign_key(&from, &target, &to, &on_delete));
        }
        table.constraints.extend(checks(&create_table));
        schema.insert(name, table);
    }
    schema
}

/// An index as `pg_index` describes it.
#[derive(sqlx::FromRow)]
struct PgIndex {
    table_name: String,
    name: String,
    unique: bool,
    primary: bool,
    /// Whether a constraint (primary key, `UNIQUE`) made it.
    constraint: bool,
    predicate: Option<String>,
    columns: Vec<String>,
}

async fn postgres_schema(url: &str) -> Schema {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let mut schema = Schema::new();
    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.is_nullable::text
         FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for (table, column, data_type, nullable) in columns {
        schema
            .entry(table)
            .or_default()
            .columns
            .insert(column, (postgres_family(&data_type), nullable == "YES"));
    }
    let indexes: Vec<PgIndex> = sqlx::query_as(
        "SELECT t.relname::text AS table_name, i.relname::text AS name, ix.indisunique AS unique,
                ix.indisprimary AS primary,
                EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid) AS constraint,
                pg_get_expr(ix.indpred, ix.indrelid) AS predicate,
                ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true)
                      FROM generate_series(1, ix.indnatts) AS k ORDER BY k) AS columns
         FROM pg_index ix
         JOIN pg_class i ON i.oid = ix.indexrelid
         JOIN pg_class t ON t.oid = ix.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = 'public' AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for index in indexes {
        let table = schema.entry(index.table_name).or_default();
        if index.primary {
            table.primary_key = index.columns;
            continue;
        }
        table.indexes.insert(Index {
            name: (!index.constraint).then_some(index.name),
            // PostgreSQL quotes a column named like a keyword (`"timestamp"`).
            columns: index
                .columns
                .iter()
                .map(|column| column.trim_matches('"').to_owned())
                .collect(),
            unique: index.unique,
            predicate: index.predicate.as_deref().map(normalize),
        });
    }
    let constraints: Vec<(String, String)> = sqlx::query_as(
        "SELECT t.relname::text, pg_get_constraintdef(c.oid)
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = 'public' AND c.contype IN ('f', 'c') AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for (table, definition) in constraints {
        schema
            .entry(table)
            .or_default()
            .constraints
            .insert(normalize(&definition));
    }
    schema
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_databases_have_the_same_schema() {
    let sqlite = TestStore::sqlite().await;
    let Some(postgres) = TestStore::postgres().await else {
        return;
    };
    let sqlite = sqlite_schema(&sqlite.url()).await;
    let mut postgres = postgres_schema(&postgres.url()).await;

    for (table, index) in POSTGRES_ONLY_INDEXES {
        let indexes = &mut postgres.get_mut(*table).unwrap().indexes;
        let before = indexes.len();
        indexes.retain(|found| found.name.as_deref() != Some(*index));
        assert_eq!(indexes.len() + 1, before, "PostgreSQL has `{index}` on `{table}`");
    }
    assert_eq!(
        sqlite.keys().collect::<Vec<_>>(),
        postgres.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    for (name, table) in &sqlite {
        assert_eq!(
            table, &postgres[name],
            "table `{name}`: SQLite (left) and PostgreSQL (right)"
        );
    }
    // Not vacuous: the catalogs were read.
    assert!(sqlite["runs"].columns.len() > 15 && !sqlite["runs"].indexes.is_empty());
    assert!(
        sqlite["token_scopes"].constraints.len() == 2,
        "{:?}",
        sqlite["token_scopes"]
    );
}

#[test]
fn sql_is_compared_without_casts_parentheses_or_spaces() {
    assert_eq!(
        normalize("CHECK (((scope = 'read'::text) OR (scope = 'admin'::text)))"),
        normalize("CHECK (scope = 'read' OR scope = 'admin')")
    );
    assert_eq!(
        checks("CREATE TABLE t (a TEXT CHECK (a IN ('x')), b INTEGER, CHECK (b > (1)))"),
        ["checkain'x'", "checkb>1"]
    );
    assert_eq!(sqlite_family("INTEGER"), "integer");
    assert_eq!(postgres_family("timestamp with time zone"), sqlite_family("TEXT"));
}
