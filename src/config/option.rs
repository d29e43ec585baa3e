//! One option of `hookwire serve` as a configuration file sees it: its key and the TOML type
//! of its value, both read from clap's definition of the option (so the file, `config example`
//! and the flags can never disagree).

use std::any::TypeId;

use clap::{Arg, ArgAction};

/// The TOML type a key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An on/off flag (`--online`): `true` or `false`.
    Boolean,
    /// One value.
    Scalar(Element),
    /// Several values (`--retry-delays-ms 1000,4000`): an array.
    List(Element),
}

/// The TOML type of one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Element {
    Integer,
    /// Anything else (addresses, URLs, paths, names) is written as a string.
    String,
}

impl Kind {
    pub(super) fn of(arg: &Arg) -> Kind {
        let element = if is_integer(arg) {
            Element::Integer
        } else {
            Element::String
        };
        match arg.get_action() {
            ArgAction::SetTrue => Kind::Boolean,
            ArgAction::Append => Kind::List(element),
            _ => Kind::Scalar(element),
        }
    }

    /// "an integer", "an array of strings", ...: what an error says was expected.
    pub(super) fn describe(self) -> &'static str {
        match self {
            Kind::Boolean => "a boolean (true or false)",
            Kind::Scalar(Element::Integer) => "an integer",
            Kind::Scalar(Element::String) => "a string",
            Kind::List(Element::Integer) => "an array of integers",
            Kind::List(Element::String) => "an array of strings",
        }
    }
}

/// Whether clap parses the option's values into an integer type.
fn is_integer(arg: &Arg) -> bool {
    let parsed = arg.get_value_parser().type_id();
    [
        TypeId::of::<u8>(),
        TypeId::of::<u16>(),
        TypeId::of::<u32>(),
        TypeId::of::<u64>(),
        TypeId::of::<usize>(),
        TypeId::of::<i8>(),
        TypeId::of::<i16>(),
        TypeId::of::<i32>(),
        TypeId::of::<i64>(),
        TypeId::of::<isize>(),
    ]
    .iter()
    .any(|t| parsed == *t)
}

/// The option's key in the file: its long flag in snake case (`--max-body-bytes` is
/// `max_body_bytes`), which is also its environment variable without `HOOKWIRE_`.
pub(super) fn key(arg: &Arg) -> Option<String> {
    arg.get_long().map(|long| long.replace('-', "_"))
}

/// The options a file may set: every long option of `serve` but `--config` itself (and clap's
/// `--help`).
pub(super) fn file_options(serve: &clap::Command) -> impl Iterator<Item = (String, &Arg)> {
    serve.get_arguments().filter_map(|arg| {
        let key = key(arg)?;
        let own = matches!(key.as_str(), super::CONFIG_KEY | "help" | "version");
        (!own && !arg.is_hide_set()).then_some((key, arg))
    })
}
