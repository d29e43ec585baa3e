//! `hookwire serve --config FILE` (or `HOOKWIRE_CONFIG`): the file's values become the defaults
//! of the options it sets, so clap's own order gives flag > environment > file > built-in
//! default, and every built-in default stays where the option is declared (`config.rs`).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use toml::de::{DeTable, DeValue};

use super::option::{self, Element, Kind};

/// The subcommand that takes `--config` (its name in `main.rs`).
const SERVE: &str = "serve";

/// A configuration file is a few KiB; anything far larger is not one.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Parses the command line of `cli` (the whole `hookwire` command). When `serve` names a
/// configuration file, parses it again with the file's values as the defaults. Help,
/// `--version` and command-line errors end the process as clap does; a bad file is an error
/// naming the file, the line and the key.
pub fn parse_command_line(cli: Command) -> Result<ArgMatches, String> {
    let matches = cli.clone().get_matches();
    let Some(path) = matches
        .subcommand_matches(SERVE)
        .and_then(|serve| serve.get_one::<PathBuf>(super::CONFIG_KEY))
    else {
        return Ok(matches);
    };
    let Some(serve) = cli.find_subcommand(SERVE) else {
        return Ok(matches);
    };
    let settings = read(path, serve)?;
    let from_file: Vec<String> = settings.iter().map(|(id, _)| id.clone()).collect();
    let cli = cli.mut_subcommand(SERVE, |serve| {
        settings.into_iter().fold(serve, |serve, (id, values)| {
            serve.mut_arg(id, |arg| arg.default_values(values))
        })
    });
    let matches = cli.clone().get_matches();
    if let (Some(serve), Some(given)) = (
        cli.find_subcommand(SERVE),
        matches.subcommand_matches(SERVE),
    ) {
        check_conflicts(path, serve, given, &from_file)?;
    }
    Ok(matches)
}

/// clap refuses conflicting options (`--no-dispatcher` with `--no-api`) only among flags and
/// environment variables; the file's values are defaults to clap, so they are checked here.
fn check_conflicts(
    path: &Path,
    serve: &Command,
    given: &ArgMatches,
    from_file: &[String],
) -> Result<(), String> {
    let id = |arg: &Arg| arg.get_id().to_string();
    let in_file = |arg: &Arg| {
        from_file.contains(&id(arg))
            && given.value_source(arg.get_id().as_str()) == Some(ValueSource::DefaultValue)
    };
    let on = |arg: &Arg| match Kind::of(arg) {
        Kind::Boolean => given.get_flag(arg.get_id().as_str()),
        _ => {
            in_file(arg)
                || given.value_source(arg.get_id().as_str()) != Some(ValueSource::DefaultValue)
        }
    };
    for (key, arg) in option::file_options(serve) {
        for other in serve.get_arg_conflicts_with(arg) {
            if on(arg) && on(other) && (in_file(arg) || in_file(other)) {
                let other_key = option::key(other).unwrap_or_default();
                return Err(format!(
                    "{}: `{key}` and `{other_key}` cannot both be set (from the file, a flag or the environment)",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// The options `path` sets, as (option id, values as they would be typed on the command line),
/// each checked against the option's type and value parser.
fn read(path: &Path, serve: &Command) -> Result<Vec<(String, Vec<String>)>, String> {
    let text = read_bounded(path)?;
    let table = DeTable::parse(&text).map_err(|e| {
        let at = Place::new(path, &text, e.span().map_or(0, |s| s.start));
        format!("{at}: not valid TOML: {}", e.message().trim_end())
    })?;
    let mut entries: Vec<_> = table.get_ref().iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    let mut settings = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let at = Place::new(path, &text, key.span().start);
        let key: &str = key.get_ref();
        let arg = find(serve, key).ok_or_else(|| unknown_key(&at, key))?;
        let kind = Kind::of(arg);
        let values = values(value.get_ref(), kind)
            .map_err(|found| format!("{at}: `{key}` must be {}, not {found}", kind.describe()))?;
        check(arg, &values).map_err(|reason| format!("{at}: `{key}`: {reason}"))?;
        settings.push((arg.get_id().to_string(), values));
    }
    Ok(settings)
}

fn read_bounded(path: &Path) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("cannot read the config file {}: {e}", path.display());
    let mut text = String::new();
    File::open(path)
        .map_err(cannot)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "the config file {} is larger than {MAX_FILE_BYTES} bytes",
            path.display()
        ));
    }
    Ok(text)
}

fn find<'a>(serve: &'a Command, key: &str) -> Option<&'a Arg> {
    option::file_options(serve).find_map(|(k, arg)| (k == key).then_some(arg))
}

fn unknown_key(at: &Place, key: &str) -> String {
    let hint = if key == super::CONFIG_KEY {
        " (a config file cannot name another one)".to_string()
    } else if key.contains('-') {
        format!(
            " (keys are written with underscores: `{}`?)",
            key.replace('-', "_")
        )
    } else {
        " (`hookwire config example` prints every key)".to_string()
    };
    format!("{at}: unknown key `{key}`{hint}")
}

/// The value as command-line values, or what was found instead of `kind`.
fn values(value: &DeValue, kind: Kind) -> Result<Vec<String>, String> {
    match (kind, value) {
        (Kind::Boolean, DeValue::Boolean(b)) => Ok(vec![b.to_string()]),
        (Kind::Scalar(element), value) => one(value, element).map(|v| vec![v]),
        (Kind::List(element), DeValue::Array(items)) => items
            .iter()
            .map(|item| one(item.get_ref(), element).map_err(|f| format!("an array holding {f}")))
            .collect(),
        (_, value) => Err(type_name(value).to_string()),
    }
}

fn one(value: &DeValue, element: Element) -> Result<String, String> {
    match (element, value) {
        (Element::Integer, DeValue::Integer(n)) => i128::from_str_radix(n.as_str(), n.radix())
            .map(|n| n.to_string())
            .map_err(|_| "an integer out of range".to_string()),
        (Element::String, DeValue::String(s)) => Ok(s.to_string()),
        _ => Err(type_name(value).to_string()),
    }
}

fn type_name(value: &DeValue) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Runs `values` through the option's own value parser (the one its flag uses), so a file
/// value is refused with the same reason as the same flag would be, but naming the key.
fn check(arg: &Arg, values: &[String]) -> Result<(), String> {
    let probe = Arg::new("value")
        .long("value")
        .value_parser(arg.get_value_parser().clone())
        .action(ArgAction::Append);
    Command::new("hookwire")
        .no_binary_name(true)
        .arg(probe)
        .try_get_matches_from(values.iter().map(|v| format!("--value={v}")))
        .map(|_| ())
        .map_err(|e| {
            let reason = std::error::Error::source(&e)
                .map_or_else(|| e.kind().to_string(), |source| source.to_string());
            let value = e
                .get(clap::error::ContextKind::InvalidValue)
                .map(|v| format!("invalid value '{v}': "))
                .unwrap_or_default();
            format!("{value}{reason}")
        })
}

/// Where in the file an error is: `hookwire.toml, line 3`.
struct Place {
    path: PathBuf,
    line: usize,
}

impl Place {
    fn new(path: &Path, text: &str, offset: usize) -> Place {
        let before = text.get(..offset).unwrap_or(text);
        Place {
            path: path.to_path_buf(),
            line: before.matches('\n').count() + 1,
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, line {}", self.path.display(), self.line)
    }
}
