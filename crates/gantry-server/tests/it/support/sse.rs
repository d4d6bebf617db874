//! Server-sent events, as a client reads them off a stream.

use serde_json::Value;

/// One server-sent event.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// The complete events in `text`, and what is left after the last one.
pub fn parse_sse(text: &str) -> (Vec<SseEvent>, String) {
    let mut events = Vec::new();
    let mut rest = text;
    while let Some(end) = rest.find("\n\n") {
        let block = &rest[..end];
        rest = &rest[end + 2..];
        let mut event = SseEvent::default();
        for line in block.lines() {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => value.clone_into(&mut event.event),
                "id" => event.id = Some(value.to_owned()),
                "data" => event.data.push_str(value),
                _ => {}
            }
        }
        if !event.event.is_empty() || !event.data.is_empty() {
            events.push(event);
        }
    }
    (events, rest.to_owned())
}
