//! Logging: structured `tracing` output on stderr, as text or JSON. What a client's malformed HTTP
//! makes actix log at ERROR is written at INFO instead: it is the client's fault, not the
//! service's, and an operator's ERROR alert should not fire for every scanner.

use std::fmt::{self, Write as _};
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_core::callsite::DefaultCallsite;
use tracing_core::field::FieldSet;
use tracing_core::metadata::Kind;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::{EnvFilter, filter::LevelFilter};

use crate::config::LogFormat;

pub fn init(level: &str, format: LogFormat) {
    let ansi = std::io::stderr().is_terminal();
    let _already_set =
        tracing::subscriber::set_global_default(subscriber(level, format, std::io::stderr, ansi));
}

/// What [`init`] installs, writing to `writer`: the level filter (`REQUESTDESK_LOG_LEVEL`'s
/// syntax; `info` if it cannot be read) and the text or JSON output.
pub fn subscriber<W>(
    level: &str,
    format: LogFormat,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let output = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => Box::new(registry.with(DemoteClientErrors::new(output.json()))),
        LogFormat::Text => Box::new(registry.with(DemoteClientErrors::new(output))),
    }
}

/// Wraps the layer that writes the log: an event actix-http writes at ERROR about a connection
/// whose client sent what is not HTTP (`stream error: ...`: a parse error, HTTP/2 prior
/// knowledge on the plain port, a slow or reset client) reaches it as an INFO event of target
/// `requestdesk::http` instead, with the same words. Everything else passes unchanged.
pub struct DemoteClientErrors<L> {
    inner: L,
}

impl<L> DemoteClientErrors<L> {
    pub fn new(inner: L) -> Self {
        Self { inner }
    }
}

/// The target and message prefix of actix-http's per-connection error line.
const ACTIX_DISPATCHER: &str = "actix_http::h1::dispatcher";
const STREAM_ERROR: &str = "stream error";

static CLIENT_ERROR_CALLSITE: DefaultCallsite = DefaultCallsite::new(&CLIENT_ERROR);
static CLIENT_ERROR: Metadata<'static> = Metadata::new(
    "client error",
    "requestdesk::http",
    Level::INFO,
    Some(file!()),
    Some(line!()),
    Some(module_path!()),
    FieldSet::new(
        &["message"],
        tracing_core::identify_callsite!(&CLIENT_ERROR_CALLSITE),
    ),
    Kind::EVENT,
);

/// The `message` field of an event, as text.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

/// The words of `event` when it is actix-http's line about a client's broken connection.
fn client_error(event: &Event<'_>) -> Option<String> {
    let metadata = event.metadata();
    if *metadata.level() != Level::ERROR || metadata.target() != ACTIX_DISPATCHER {
        return None;
    }
    let mut message = Message::default();
    event.record(&mut message);
    message.0.starts_with(STREAM_ERROR).then_some(message.0)
}

impl<S: Subscriber, L: Layer<S>> Layer<S> for DemoteClientErrors<L> {
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(text) = client_error(event) else {
            return self.inner.on_event(event, ctx);
        };
        if LevelFilter::current() < LevelFilter::INFO {
            return;
        }
        let fields = CLIENT_ERROR.fields();
        let Some(message) = fields.field("message") else {
            return;
        };
        let text = format!("a client sent malformed HTTP or broke its connection: {text}");
        let values = [(&message, Some(&text as &dyn tracing::Value))];
        let values = fields.value_set(&values);
        self.inner
            .on_event(&Event::new(&CLIENT_ERROR, &values), ctx);
    }

    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(
        &self,
        metadata: &'static Metadata<'static>,
    ) -> tracing_core::subscriber::Interest {
        self.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }

    fn on_new_span(
        &self,
        attrs: &tracing_core::span::Attributes<'_>,
        id: &tracing_core::span::Id,
        ctx: Context<'_, S>,
    ) {
        self.inner.on_new_span(attrs, id, ctx);
    }

    fn on_record(
        &self,
        span: &tracing_core::span::Id,
        values: &tracing_core::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        self.inner.on_record(span, values, ctx);
    }

    fn on_follows_from(
        &self,
        span: &tracing_core::span::Id,
        follows: &tracing_core::span::Id,
        ctx: Context<'_, S>,
    ) {
        self.inner.on_follows_from(span, follows, ctx);
    }

    fn on_enter(&self, id: &tracing_core::span::Id, ctx: Context<'_, S>) {
        self.inner.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &tracing_core::span::Id, ctx: Context<'_, S>) {
        self.inner.on_exit(id, ctx);
    }

    fn on_close(&self, id: tracing_core::span::Id, ctx: Context<'_, S>) {
        self.inner.on_close(id, ctx);
    }

    fn on_id_change(
        &self,
        old: &tracing_core::span::Id,
        new: &tracing_core::span::Id,
        ctx: Context<'_, S>,
    ) {
        self.inner.on_id_change(old, new, ctx);
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.inner.max_level_hint()
    }
}
