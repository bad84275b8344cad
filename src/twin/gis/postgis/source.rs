//! A PostGIS layer source as a scene names it, `postgis://user@host:port/dbname?table=schema.table`,
//! and the password found for it the way libpq finds one: `PGPASSWORD`, else the password
//! file (`PGPASSFILE`, else `~/.pgpass`). A password is never written in the scene.

use std::fmt;

/// The URL scheme of a PostGIS layer source.
pub const SCHEME: &str = "postgis://";
/// The port PostgreSQL listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 5432;
/// The host connected to when the URL names none.
pub const DEFAULT_HOST: &str = "localhost";
/// The schema a table is looked for in when its name has none.
pub const DEFAULT_SCHEMA: &str = "public";
/// Environment variable holding the password (as for libpq).
pub const PASSWORD_ENV: &str = "PGPASSWORD";
/// Environment variable naming the password file (as for libpq).
pub const PASSFILE_ENV: &str = "PGPASSFILE";
/// The password file in the home folder (as for libpq).
pub const PASSFILE_NAME: &str = ".pgpass";
/// Environment variable giving the user when the URL names none (as for libpq).
pub const USER_ENV: &str = "PGUSER";

/// Whether a layer path is a PostGIS source (`postgis://…`) rather than a file.
pub fn is_postgis(path: &std::path::Path) -> bool {
    path.to_str().is_some_and(|s| {
        s.get(..SCHEME.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(SCHEME))
    })
}

/// The URL as it may be shown: a password written in it (which [`PgSource::parse`]
/// refuses) replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some(at) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let end = url[at..].find(['/', '?']).map_or(url.len(), |i| at + i);
    let mut out = url[..at].to_string();
    let authority = &url[at..end];
    match authority.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or_default();
            out.push_str(&format!("{name}:***@{host}"));
        }
        _ => out.push_str(authority),
    }
    let rest = &url[end..];
    match rest.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k == "password" => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            out.push_str(&format!("{path}?{}", query.join("&")));
        }
        None => out.push_str(rest),
    }
    out
}

/// A table, schema-qualified.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableName {
    /// The schema (`public` when the name gives none).
    pub schema: String,
    /// The table (or view).
    pub table: String,
}

impl TableName {
    /// Parses `schema.table` or `table` (then in `public`), as written in the catalogue:
    /// names are not case-folded. Empty parts are an error.
    pub fn parse(s: &str) -> Result<TableName, String> {
        let (schema, table) = match s.split_once('.') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (DEFAULT_SCHEMA, s.trim()),
        };
        if schema.is_empty() || table.is_empty() {
            return Err(format!("table '{s}' must be written schema.table or table"));
        }
        Ok(TableName {
            schema: schema.to_string(),
            table: table.to_string(),
        })
    }

    /// The name quoted for SQL: `"schema"."table"`.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.table))
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

/// An SQL identifier in double quotes (inner quotes doubled).
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Where a PostGIS layer comes from: server, database, user, and the table when the URL
/// names one. Holds no password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSource {
    /// The user; `None`: `PGUSER`, else the login name (as for libpq).
    pub user: Option<String>,
    /// Host name, IP address, or a Unix socket folder (starting with `/`).
    pub host: String,
    /// TCP port (or the socket's number).
    pub port: u16,
    /// The database; `None`: named like the user (as for libpq).
    pub dbname: Option<String>,
    /// The table from `?table=`.
    pub table: Option<TableName>,
    /// The geometry column from `?geometry=`, for tables with more than one.
    pub geometry: Option<String>,
}

/// `%XX` escapes decoded (names with `@`, `/`, `:` or `?` in them are written so).
fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad %-escape in '{s}'"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("'{s}' is not UTF-8 once %-escapes are decoded"))
}

impl PgSource {
    /// Parses `postgis://[user@]host[:port][/dbname][?table=schema.table[&geometry=column]]`.
    /// A password in the URL is an error: it belongs in `PGPASSWORD` or `~/.pgpass`.
    pub fn parse(url: &str) -> Result<PgSource, String> {
        let rest = url
            .get(..SCHEME.len())
            .filter(|p| p.eq_ignore_ascii_case(SCHEME))
            .map(|_| &url[SCHEME.len()..])
            .ok_or_else(|| format!("a PostGIS source starts with {SCHEME}"))?;
        let (before_query, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match before_query.split_once('/') {
            Some((a, p)) => (a, p),
            None => (before_query, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let user = match userinfo {
            Some(u) if u.contains(':') => {
                return Err(format!(
                    "no password in the source: write postgis://{}@… and give the password in \
                     {PASSWORD_ENV} or {PASSFILE_NAME}",
                    u.split(':').next().unwrap_or_default()
                ));
            }
            Some("") => return Err("empty user name before '@'".into()),
            Some(u) => Some(percent_decode(u)?),
            None => None,
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("unclosed '[' in host '{hostport}'"))?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (percent_decode(h)?, Some(p)),
                None => (percent_decode(hostport)?, None),
            }
        };
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("port '{p}' is not a number from 1 to 65535"))?,
        };
        let host = if host.is_empty() {
            DEFAULT_HOST.to_string()
        } else {
            host
        };
        let dbname = match path.trim_end_matches('/') {
            "" => None,
            p if p.contains('/') => return Err(format!("database name '{p}' has a '/' in it")),
            p => Some(percent_decode(p)?),
        };
        let mut table = None;
        let mut geometry = None;
        for pair in query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v)?;
            match k {
                "table" => table = Some(TableName::parse(&v)?),
                "geometry" if !v.is_empty() => geometry = Some(v),
                "password" => {
                    return Err(format!(
                        "no password in the source: give it in {PASSWORD_ENV} or {PASSFILE_NAME}"
                    ));
                }
                _ => {
                    return Err(format!(
                        "unknown parameter '{k}' (a PostGIS source takes table= and geometry=)"
                    ));
                }
            }
        }
        Ok(PgSource {
            user,
            host,
            port,
            dbname,
            table,
            geometry,
        })
    }

    /// The user connected as: the URL's, else `PGUSER`, else the login name (`USER`).
    pub fn user_or(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        self.user
            .clone()
            .or_else(|| env(USER_ENV).filter(|u| !u.is_empty()))
            .or_else(|| env("USER").filter(|u| !u.is_empty()))
    }

    /// The database connected to: the URL's, else the user's name (as for libpq).
    pub fn dbname_or(&self, user: Option<&str>) -> Option<String> {
        self.dbname.clone().or_else(|| user.map(str::to_string))
    }

    /// The same source naming `table` instead.
    pub fn with_table(&self, table: TableName) -> PgSource {
        PgSource {
            table: Some(table),
            ..self.clone()
        }
    }
}

impl fmt::Display for PgSource {
    /// The URL, without a password (it never holds one).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SCHEME)?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)?;
        } else {
            write!(f, "{}:{}", self.host, self.port)?;
        }
        if let Some(d) = &self.dbname {
            write!(f, "/{d}")?;
        }
        let mut sep = '?';
        if let Some(t) = &self.table {
            write!(f, "{sep}table={t}")?;
            sep = '&';
        }
        if let Some(g) = &self.geometry {
            write!(f, "{sep}geometry={g}")?;
        }
        Ok(())
    }
}

/// One field of a password-file line: `\:` and `\\` unescaped, up to an unescaped `:`.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().expect("one field").push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// The password a password file (`~/.pgpass` text) gives for a connection: the first line
/// `host:port:database:user:password` whose first four fields match, `*` matching anything
/// (libpq's rules; a Unix socket connection matches `localhost`).
pub fn pgpass_lookup(text: &str, host: &str, port: u16, dbname: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    let host_matches = |h: &str| h == "*" || h == host || (host.starts_with('/') && h == DEFAULT_HOST);
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(pgpass_fields)
        .filter(|f| f.len() == 5)
        .find(|f| {
            host_matches(&f[0])
                && (f[1] == "*" || f[1] == port)
                && (f[2] == "*" || f[2] == dbname)
                && (f[3] == "*" || f[3] == user)
        })
        .map(|f| f[4].clone())
}

/// Where a password was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordFrom {
    /// Given by the caller (a program using the reader, not a scene).
    Caller,
    /// `PGPASSWORD`.
    Env,
    /// The password file.
    PassFile,
    /// Nowhere: the connection is tried without one.
    None,
}

/// The password for a connection, libpq's way: `PGPASSWORD`, else the password file
/// (`PGPASSFILE`, else `~/.pgpass`) unless others may read it (libpq ignores such a file
/// too). `env` reads environment variables; `read` reads a file, giving its text and
/// whether it is private to its owner.
pub fn find_password(
    host: &str,
    port: u16,
    dbname: &str,
    user: &str,
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&std::path::Path) -> Option<(String, bool)>,
) -> (Option<String>, PasswordFrom) {
    if let Some(p) = env(PASSWORD_ENV).filter(|p| !p.is_empty()) {
        return (Some(p), PasswordFrom::Env);
    }
    let file = env(PASSFILE_ENV)
        .filter(|f| !f.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| env("HOME").map(|h| std::path::Path::new(&h).join(PASSFILE_NAME)));
    let found = file
        .and_then(|f| read(&f))
        .filter(|(_, private)| *private)
        .and_then(|(text, _)| pgpass_lookup(&text, host, port, dbname, user));
    match found {
        Some(p) => (Some(p), PasswordFrom::PassFile),
        None => (None, PasswordFrom::None),
    }
}

/// Reads a password file: its text, and whether only its owner may read it (always true
/// where file modes do not exist).
pub fn read_passfile(path: &std::path::Path) -> Option<(String, bool)> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    #[cfg(unix)]
    let private = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o077 == 0
    };
    #[cfg(not(unix))]
    let private = true;
    Some((std::fs::read_to_string(path).ok()?, private))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_url_is_parsed_and_written_back() {
        let s = PgSource::parse("postgis://gis@db.city.example:5433/city?table=planning.buildings").unwrap();
        assert_eq!(s.user.as_deref(), Some("gis"));
        assert_eq!((s.host.as_str(), s.port), ("db.city.example", 5433));
        assert_eq!(s.dbname.as_deref(), Some("city"));
        let t = s.table.clone().unwrap();
        assert_eq!((t.schema.as_str(), t.table.as_str()), ("planning", "buildings"));
        assert_eq!(t.quoted(), "\"planning\".\"buildings\"");
        assert_eq!(
            s.to_string(),
            "postgis://gis@db.city.example:5433/city?table=planning.buildings"
        );
        assert_eq!(PgSource::parse(&s.to_string()).unwrap(), s);
    }

    #[test]
    fn defaults_escapes_and_ipv6() {
        let s = PgSource::parse("postgis://localhost").unwrap();
        assert_eq!(
            (s.user, s.host.as_str(), s.port, s.dbname, s.table),
            (None, "localhost", DEFAULT_PORT, None, None)
        );
        let s = PgSource::parse("POSTGIS://u@/db?table=roads&geometry=centre_line").unwrap();
        assert_eq!(s.host, DEFAULT_HOST);
        assert_eq!(s.table.unwrap(), TableName::parse("public.roads").unwrap());
        assert_eq!(s.geometry.as_deref(), Some("centre_line"));
        let s = PgSource::parse("postgis://a%40b@%2Fvar%2Frun%2Fpostgresql:5432/my%20db").unwrap();
        assert_eq!(s.user.as_deref(), Some("a@b"));
        assert_eq!(s.host, "/var/run/postgresql");
        assert_eq!(s.dbname.as_deref(), Some("my db"));
        let s = PgSource::parse("postgis://u@[::1]:6543/d").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("::1", 6543));
        assert_eq!(s.to_string(), "postgis://u@[::1]:6543/d");
        let user = s.user_or(&|_| None);
        assert_eq!(user.as_deref(), Some("u"));
        let anon = PgSource::parse("postgis://h/").unwrap();
        let env = |k: &str| (k == "USER").then(|| "login".to_string());
        assert_eq!(anon.user_or(&env).as_deref(), Some("login"));
        assert_eq!(anon.dbname_or(Some("login")).as_deref(), Some("login"));
    }

    #[test]
    fn passwords_and_nonsense_are_refused() {
        let e = PgSource::parse("postgis://gis:secret@h/db").unwrap_err();
        assert!(e.contains("no password") && e.contains(PASSWORD_ENV), "{e}");
        assert!(!e.contains("secret"), "the password is not repeated: {e}");
        assert!(PgSource::parse("postgis://h/db?password=x").is_err());
        assert_eq!(
            redact("postgis://gis:secret@h:5432/db?table=t"),
            "postgis://gis:***@h:5432/db?table=t"
        );
        assert_eq!(
            redact("postgis://h/db?table=t&password=x"),
            "postgis://h/db?table=t&password=***"
        );
        assert_eq!(redact("postgis://gis@h/db"), "postgis://gis@h/db");
        assert!(PgSource::parse("postgres://h/db").is_err());
        assert!(PgSource::parse("postgis://h:99999/db").is_err());
        assert!(PgSource::parse("postgis://h:0/db").is_err());
        assert!(PgSource::parse("postgis://h/db?table=.x").is_err());
        assert!(PgSource::parse("postgis://h/db?tabel=x").is_err());
        assert!(PgSource::parse("postgis://h/a/b").is_err());
        assert!(PgSource::parse("postgis://h/%zz").is_err());
        assert!(is_postgis(std::path::Path::new("postgis://h/db")));
        assert!(!is_postgis(std::path::Path::new("data/postgis.shp")));
    }

    #[test]
    fn the_password_file_follows_libpq() {
        let text = "# comment\n\
                    other:5432:*:gis:wrong\n\
                    db.example:5432:city:gis:first\n\
                    *:*:*:gis:fallback\n\
                    db.example:5432:city:gis:second\n\
                    h\\:x:*:*:*:esc\\:aped\\\\\n";
        assert_eq!(
            pgpass_lookup(text, "db.example", 5432, "city", "gis").as_deref(),
            Some("first")
        );
        assert_eq!(
            pgpass_lookup(text, "db.example", 5433, "city", "gis").as_deref(),
            Some("fallback")
        );
        assert_eq!(pgpass_lookup(text, "db.example", 5432, "city", "ann"), None);
        assert_eq!(
            pgpass_lookup(text, "h:x", 1, "d", "u").as_deref(),
            Some("esc:aped\\")
        );
        let sock = "localhost:5432:*:u:viasocket\n";
        assert_eq!(
            pgpass_lookup(sock, "/run/postgresql", 5432, "d", "u").as_deref(),
            Some("viasocket")
        );
    }

    #[test]
    fn pgpassword_comes_first_and_an_open_passfile_is_ignored() {
        let file = "*:*:*:*:from-file\n".to_string();
        let read_private = |_: &std::path::Path| Some((file.clone(), true));
        let read_open = |_: &std::path::Path| Some((file.clone(), false));
        let with_env = |k: &str| match k {
            "PGPASSWORD" => Some("from-env".to_string()),
            "HOME" => Some("/home/u".to_string()),
            _ => None,
        };
        let home_only = |k: &str| (k == "HOME").then(|| "/home/u".to_string());
        assert_eq!(
            find_password("h", 1, "d", "u", &with_env, &read_private),
            (Some("from-env".into()), PasswordFrom::Env)
        );
        assert_eq!(
            find_password("h", 1, "d", "u", &home_only, &read_private),
            (Some("from-file".into()), PasswordFrom::PassFile)
        );
        assert_eq!(
            find_password("h", 1, "d", "u", &home_only, &read_open),
            (None, PasswordFrom::None)
        );
        // PGPASSFILE names the file read.
        let passfile = |k: &str| (k == "PGPASSFILE").then(|| "/elsewhere/pw".to_string());
        let only_there =
            |p: &std::path::Path| (p == std::path::Path::new("/elsewhere/pw")).then(|| (file.clone(), true));
        assert_eq!(
            find_password("h", 1, "d", "u", &passfile, &only_there).1,
            PasswordFrom::PassFile
        );
    }
}
