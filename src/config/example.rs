//! `hookwire config example`: a commented configuration file with every option of `serve`,
//! its help and its default, generated from the options' definitions so it cannot drift.

use clap::{Arg, Args, Command};

use super::ServeConfig;
use super::option::{self, Element, Kind};

/// Help lines are wrapped to this width.
const WIDTH: usize = 92;

const HEADER: &str = "\
# Configuration of `hookwire serve`: `hookwire serve --config hookwire.toml`, or
# HOOKWIRE_CONFIG=hookwire.toml. Every key is optional. A command-line flag or a HOOKWIRE_*
# environment variable wins over this file, and the file over the built-in default.
# Printed by `hookwire config example`; each value below is the default.
";

/// The whole file.
pub fn example() -> String {
    let serve = ServeConfig::augment_args(Command::new("serve"));
    let mut out = HEADER.to_string();
    for (key, arg) in option::file_options(&serve) {
        out.push('\n');
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(ToString::to_string)
            .unwrap_or_default();
        for line in wrap(&help) {
            out.push_str(&format!("# {line}\n"));
        }
        out.push_str(&format!("# {}\n", twins(arg)));
        out.push_str(&setting(&key, arg));
        out.push('\n');
    }
    out
}

/// `--listen, HOOKWIRE_LISTEN` (and the values a choice takes).
fn twins(arg: &Arg) -> String {
    let mut twins = format!("--{}", arg.get_long().unwrap_or_default());
    if let Some(env) = arg.get_env() {
        twins.push_str(&format!(", {}", env.to_string_lossy()));
    }
    // A flag's true/false need no saying; an enumeration's values do.
    if Kind::of(arg) == Kind::Boolean {
        return twins;
    }
    let choices: Vec<String> = arg
        .get_possible_values()
        .iter()
        .map(|v| v.get_name().to_string())
        .collect();
    if !choices.is_empty() {
        twins.push_str(&format!("; one of {}", choices.join(", ")));
    }
    twins
}

/// `key = default`, or a commented-out `# key = ""` when the option has no default.
fn setting(key: &str, arg: &Arg) -> String {
    let mut defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    // A list's default may be one delimited value ("1000,4000"), as its flag takes it.
    if let Some(delimiter) = arg.get_value_delimiter() {
        defaults = defaults
            .iter()
            .flat_map(|v| v.split(delimiter))
            .map(str::to_owned)
            .collect();
    }
    match (Kind::of(arg), defaults.first()) {
        (Kind::Boolean, first) => format!("{key} = {}", first.map_or("false", String::as_str)),
        (Kind::List(element), _) => {
            let items: Vec<String> = defaults.iter().map(|v| literal(v, element)).collect();
            format!("{key} = [{}]", items.join(", "))
        }
        (Kind::Scalar(element), Some(default)) => format!("{key} = {}", literal(default, element)),
        (Kind::Scalar(element), None) => {
            let blank = match element {
                Element::Integer => "0",
                Element::String => "\"\"",
            };
            format!("# (unset by default)\n# {key} = {blank}")
        }
    }
}

/// A default as a TOML value: integers bare, anything else a quoted string.
fn literal(value: &str, element: Element) -> String {
    match element {
        Element::Integer if value.parse::<i128>().is_ok() => value.to_string(),
        _ => toml::Value::String(value.to_string()).to_string(),
    }
}

/// Help text as comment lines of at most `WIDTH` characters (a longer word keeps its line).
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > WIDTH {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}
