//! The checked-in JSON Schema (`schema/gantry.schema.json`) matches the one the model generates.

use std::path::PathBuf;

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/gantry.schema.json")
}

#[test]
fn checked_in_schema_is_current() {
    let generated = format!("{:#}\n", gantry_model::json_schema());
    let path = schema_path();
    if std::env::var_os("GANTRY_UPDATE_SCHEMA").is_some_and(|value| value == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schema/gantry.schema.json is stale or missing; regenerate it with \
         `GANTRY_UPDATE_SCHEMA=1 cargo test -p gantry-model --test schema` and commit the result"
    );
}
