//! Which origins a plugin may reach, and which addresses those origins may
//! resolve to.
//!
//! A policy is built from the workflow's grant entries. Each entry is one of:
//!
//! - **An origin**, `scheme://host[:port]`:
//!   - `scheme` is `http` or `https` (no wildcard: list both if both are
//!     meant).
//!   - `host` is a DNS name (`api.example.com`), an IPv4 address
//!     (`127.0.0.1`), an IPv6 address in brackets (`[::1]`), or a wildcard
//!     `*.example.com`. The wildcard is only ever the whole leftmost label; it
//!     matches every name *below* `example.com` at any depth
//!     (`a.example.com`, `a.b.example.com`) but **not** `example.com` itself,
//!     which is listed on its own when meant. `*` alone, and a wildcard over a
//!     single label (`*.com`), are refused. Names are compared
//!     case-insensitively, after IDNA (punycode) normalisation, ignoring a
//!     trailing dot.
//!   - `port` is a number, or `*` for any port. Without one, the scheme's
//!     default applies: 80 for `http`, 443 for `https`.
//!   - A single trailing `/` is tolerated; a path, query, fragment or user
//!     info is refused (a grant names an origin, not a resource).
//! - **An address range**: `10.0.0.0/8`, `fd00::/8`, or a single address
//!   (`127.0.0.1`, `::1`, `[::1]`). It grants no origin by itself; it only
//!   lifts the refusal of loopback, private, link-local and other
//!   non-public addresses for the names that are granted.
//!
//! After DNS, every address is checked: a loopback, private, shared (CGNAT),
//! link-local, unspecified, multicast or reserved address is refused unless
//! an address range contains it, or an origin grants that very address as an
//! IP literal (`http://127.0.0.1:8080` grants the address `127.0.0.1`, for
//! any granted name). IPv4-mapped (`::ffff:a.b.c.d`) and NAT64
//! (`64:ff9b::a.b.c.d`) IPv6 addresses are judged as the IPv4 address they
//! carry. In IPv6, only global unicast (`2000::/3`) counts as public.

use reqwest::Url;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use thiserror::Error;

/// A grant entry that cannot be read; names the entry and says why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("HTTP grant `{entry}`: {reason}")]
pub struct OriginError {
    pub entry: String,
    pub reason: String,
}

/// Why a URL or an address was refused. Its text names the origin (or the
/// name and address), never a path or query; callers still pass it through
/// the run's [`Redactor`](crate::caps::Redactor) like any other text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{reason}")]
pub struct Denied {
    /// `scheme://host:port` of the refused request, or the name resolved.
    pub origin: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn parse(text: &str) -> Option<Scheme> {
        match text.to_ascii_lowercase().as_str() {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            _ => None,
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// A DNS name, normalised (lowercase, punycode, no trailing dot).
    Name(String),
    /// `*.suffix`: every name strictly below `suffix`.
    Below(String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortPattern {
    Exactly(u16),
    Any,
}

/// One granted origin (see the module documentation for the grammar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigin {
    scheme: Scheme,
    host: HostPattern,
    port: PortPattern,
}

/// A host as it appears in a URL being checked.
enum UrlHost {
    Name(String),
    Ip(IpAddr),
}

impl AllowedOrigin {
    /// Parses `scheme://host[:port]`.
    pub fn parse(entry: &str) -> Result<AllowedOrigin, OriginError> {
        let invalid = |reason: String| OriginError { entry: entry.to_string(), reason };
        let text = entry.trim();
        let (scheme, rest) = text.split_once("://").ok_or_else(|| invalid("expected `scheme://host[:port]`".into()))?;
        let scheme = match Scheme::parse(scheme) {
            Some(scheme) => scheme,
            None if scheme == "*" => {
                return Err(invalid("a wildcard scheme is not accepted: list `http://` and `https://` apiece".into()));
            }
            None => return Err(invalid(format!("the scheme must be `http` or `https`, not `{scheme}`"))),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(invalid("a grant is an origin, `scheme://host[:port]`: no path, query or fragment".into()));
        }
        if authority.contains('@') {
            return Err(invalid("user info (`user@`) is not accepted in a grant".into()));
        }
        let (host, port) = split_host_port(authority).map_err(invalid)?;
        let port = match port {
            None => PortPattern::Exactly(scheme.default_port()),
            Some("*") => PortPattern::Any,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port > 0 => PortPattern::Exactly(port),
                _ => return Err(invalid(format!("the port must be 1 to 65535 or `*`, not `{port}`"))),
            },
        };
        let host = parse_host_pattern(host).map_err(invalid)?;
        Ok(AllowedOrigin { scheme, host, port })
    }

    /// The origin of a connector's `serviceConnection.hostPort`, granted
    /// implicitly. With a scheme (`https://looker.example.com:19999/api`)
    /// its scheme, host and port are taken and any path is ignored; a bare
    /// `host[:port]` is granted for `https` (port 443 by default): write the
    /// scheme to grant plain `http`.
    pub fn from_host_port(host_port: &str) -> Result<AllowedOrigin, OriginError> {
        let invalid = |reason: String| OriginError { entry: host_port.to_string(), reason };
        let text = host_port.trim();
        let url = if text.contains("://") {
            Url::parse(text).map_err(|e| invalid(format!("not a URL: {e}")))?
        } else {
            Url::parse(&format!("https://{text}/")).map_err(|e| invalid(format!("not a `host[:port]`: {e}")))?
        };
        let scheme = Scheme::parse(url.scheme())
            .ok_or_else(|| invalid(format!("the scheme must be `http` or `https`, not `{}`", url.scheme())))?;
        let host = match url_host(&url) {
            Some(UrlHost::Name(name)) => HostPattern::Name(name),
            Some(UrlHost::Ip(ip)) => HostPattern::Ip(canonical(ip)),
            None => return Err(invalid("the host is missing".into())),
        };
        let port = PortPattern::Exactly(url.port().unwrap_or(scheme.default_port()));
        Ok(AllowedOrigin { scheme, host, port })
    }

    /// Whether some origin matches both patterns: a plugin that declares
    /// `http://127.0.0.1:*` is served by a grant of `http://127.0.0.1:8080`,
    /// one that declares `https://*.example.com` by `https://a.example.com`.
    pub fn overlaps(&self, other: &AllowedOrigin) -> bool {
        let ports = match (self.port, other.port) {
            (PortPattern::Exactly(a), PortPattern::Exactly(b)) => a == b,
            _ => true,
        };
        let below = |name: &str, suffix: &str| {
            name.strip_suffix(suffix).is_some_and(|head| head.len() > 1 && head.ends_with('.'))
        };
        let hosts = match (&self.host, &other.host) {
            (HostPattern::Name(a), HostPattern::Name(b)) => a == b,
            (HostPattern::Ip(a), HostPattern::Ip(b)) => a == b,
            (HostPattern::Below(s), HostPattern::Name(n)) | (HostPattern::Name(n), HostPattern::Below(s)) => {
                below(n, s)
            }
            (HostPattern::Below(a), HostPattern::Below(b)) => a == b || below(a, b) || below(b, a),
            _ => false,
        };
        self.scheme == other.scheme && ports && hosts
    }

    fn matches(&self, scheme: Scheme, host: &UrlHost, port: u16) -> bool {
        if self.scheme != scheme {
            return false;
        }
        if let PortPattern::Exactly(granted) = self.port
            && granted != port
        {
            return false;
        }
        match (&self.host, host) {
            (HostPattern::Name(granted), UrlHost::Name(name)) => granted == name,
            (HostPattern::Below(suffix), UrlHost::Name(name)) => {
                name.strip_suffix(suffix.as_str()).is_some_and(|head| head.len() > 1 && head.ends_with('.'))
            }
            (HostPattern::Ip(granted), UrlHost::Ip(ip)) => *granted == canonical(*ip),
            _ => false,
        }
    }
}

impl fmt::Display for AllowedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        match &self.host {
            HostPattern::Name(name) => write!(f, "{name}")?,
            HostPattern::Below(suffix) => write!(f, "*.{suffix}")?,
            HostPattern::Ip(IpAddr::V4(ip)) => write!(f, "{ip}")?,
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
        }
        match self.port {
            PortPattern::Any => write!(f, ":*"),
            PortPattern::Exactly(port) if port == self.scheme.default_port() => Ok(()),
            PortPattern::Exactly(port) => write!(f, ":{port}"),
        }
    }
}

/// A CIDR range of addresses (a single address is a range of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

impl AddressRange {
    /// Parses `10.0.0.0/8`, `fd00::/8`, `127.0.0.1`, `::1` or `[::1]`. Bits
    /// below the prefix must be zero (`10.1.0.0/8` is refused as a likely
    /// typo). IPv4-mapped IPv6 ranges are stored as their IPv4 range.
    pub fn parse(entry: &str) -> Result<AddressRange, OriginError> {
        let invalid = |reason: String| OriginError { entry: entry.to_string(), reason };
        let text = entry.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address = address.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(address);
        let network: IpAddr = address.parse().map_err(|_| {
            invalid("expected an origin (`scheme://host[:port]`) or an address range (`10.0.0.0/8`, `::1`)".into())
        })?;
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(prefix) => match prefix.parse::<u8>() {
                Ok(prefix) if prefix <= width => prefix,
                _ => return Err(invalid(format!("the prefix length must be 0 to {width}, not `{prefix}`"))),
            },
        };
        let range = AddressRange { network, prefix };
        if range.masked() != network {
            return Err(invalid(format!(
                "bits are set below the /{prefix} prefix; did you mean `{}/{prefix}`?",
                range.masked()
            )));
        }
        Ok(range.canonical())
    }

    fn single(ip: IpAddr) -> AddressRange {
        let ip = canonical(ip);
        AddressRange { network: ip, prefix: if ip.is_ipv4() { 32 } else { 128 } }
    }

    fn masked(&self) -> IpAddr {
        match self.network {
            IpAddr::V4(ip) => IpAddr::V4(Ipv4Addr::from(u32::from(ip) & mask32(self.prefix))),
            IpAddr::V6(ip) => IpAddr::V6(Ipv6Addr::from(u128::from(ip) & mask128(self.prefix))),
        }
    }

    /// An IPv4-mapped IPv6 range as the IPv4 range it covers.
    fn canonical(self) -> AddressRange {
        if let IpAddr::V6(ip) = self.network
            && self.prefix >= 96
            && let Some(v4) = ip.to_ipv4_mapped()
        {
            return AddressRange { network: IpAddr::V4(v4), prefix: self.prefix - 96 };
        }
        self
    }

    /// Whether the range holds `ip` (already canonical).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => u32::from(ip) & mask32(self.prefix) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => u128::from(ip) & mask128(self.prefix) == u128::from(net),
            _ => false,
        }
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask32(prefix: u8) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) }
}

fn mask128(prefix: u8) -> u128 {
    if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) }
}

/// One workflow entry: an origin or an address range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Origin(AllowedOrigin),
    Addresses(AddressRange),
}

impl Grant {
    /// An entry with `://` is an origin; anything else an address range.
    pub fn parse(entry: &str) -> Result<Grant, OriginError> {
        if entry.contains("://") {
            AllowedOrigin::parse(entry).map(Grant::Origin)
        } else {
            AddressRange::parse(entry).map(Grant::Addresses)
        }
    }
}

/// What a run's plugin may reach over HTTP. The default grants nothing.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    origins: Vec<AllowedOrigin>,
    /// Address ranges granted explicitly, plus every IP-literal origin's
    /// own address.
    addresses: Vec<AddressRange>,
}

impl OriginPolicy {
    /// A policy from the workflow's entries (see the module documentation).
    /// The first bad entry is the error.
    pub fn new<I, S>(entries: I) -> Result<OriginPolicy, OriginError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut policy = OriginPolicy::default();
        for entry in entries {
            policy.grant(Grant::parse(entry.as_ref())?);
        }
        Ok(policy)
    }

    /// Adds one grant (the lead adds the connector's `hostPort` this way).
    pub fn grant(&mut self, grant: Grant) {
        match grant {
            Grant::Origin(origin) => {
                if let HostPattern::Ip(ip) = origin.host {
                    self.addresses.push(AddressRange::single(ip));
                }
                if !self.origins.contains(&origin) {
                    self.origins.push(origin);
                }
            }
            Grant::Addresses(range) => self.addresses.push(range),
        }
    }

    pub fn origins(&self) -> &[AllowedOrigin] {
        &self.origins
    }

    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// Whether `url`'s origin is granted. Makes no connection and no DNS
    /// query.
    pub fn check(&self, url: &Url) -> Result<(), Denied> {
        let origin = origin_of(url);
        let Some(scheme) = Scheme::parse(url.scheme()) else {
            let reason = format!("`{}:` URLs are not allowed: only http and https", url.scheme());
            return Err(Denied { origin, reason });
        };
        let Some(host) = url_host(url) else {
            return Err(Denied { reason: format!("`{origin}` has no host"), origin });
        };
        let port = url.port().unwrap_or(scheme.default_port());
        if self.origins.iter().any(|granted| granted.matches(scheme, &host, port)) {
            return Ok(());
        }
        let reason = format!("the origin {origin} is not granted to this plugin ({})", self.granted_list());
        Err(Denied { origin, reason })
    }

    /// Whether `host` may be reached at `ip`: a public address always may;
    /// a loopback, private, link-local, unspecified, multicast or reserved
    /// one only when granted (see the module documentation).
    pub fn check_addr(&self, host: &str, ip: IpAddr) -> Result<(), Denied> {
        let ip = canonical(ip);
        let Some(class) = non_public(ip) else {
            return Ok(());
        };
        if self.addresses.iter().any(|range| range.contains(ip)) {
            return Ok(());
        }
        let reason = format!(
            "`{host}` resolves to {ip}, a {class} address, which is not granted \
             (grant `{ip}` or a range holding it to allow it)"
        );
        Err(Denied { origin: host.to_string(), reason })
    }

    fn granted_list(&self) -> String {
        const SHOWN: usize = 8;
        if self.origins.is_empty() {
            return "no HTTP origin is granted".into();
        }
        let mut list: Vec<String> = self.origins.iter().take(SHOWN).map(|o| o.to_string()).collect();
        if self.origins.len() > SHOWN {
            list.push(format!("and {} more", self.origins.len() - SHOWN));
        }
        format!("granted: {}", list.join(", "))
    }
}

/// `scheme://host:port` of a URL, for messages: no user info, path or query.
pub fn origin_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port_or_known_default() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

fn url_host(url: &Url) -> Option<UrlHost> {
    let host = url.host_str()?;
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse().ok().map(UrlHost::Ip);
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(UrlHost::Ip(ip));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    (!name.is_empty()).then(|| UrlHost::Name(name.to_ascii_lowercase()))
}

/// Splits `host[:port]`, with an IPv6 host in brackets.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or("an IPv6 address lacks its closing `]`")?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or("expected `:port` after the IPv6 address")?),
        };
        return Ok((&authority[..inside.len() + 2], port));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.contains(':') {
        return Err("an IPv6 address must be written in brackets, as in `http://[::1]:8080`".into());
    }
    if host.is_empty() {
        return Err("the host is missing".into());
    }
    Ok((host, port))
}

fn parse_host_pattern(host: &str) -> Result<HostPattern, String> {
    if host == "*" {
        return Err("`*` would grant every host: list the hosts, or use `*.example.com`".into());
    }
    if let Some(suffix) = host.strip_prefix("*.") {
        if suffix.contains('*') {
            return Err("only the leftmost label may be a wildcard, as in `https://*.example.com`".into());
        }
        return match normalise_host(suffix)? {
            HostPattern::Name(suffix) if suffix.contains('.') => Ok(HostPattern::Below(suffix)),
            HostPattern::Name(suffix) => Err(format!("`*.{suffix}` would grant a whole top-level domain")),
            _ => Err("a wildcard cannot stand before an IP address".into()),
        };
    }
    if host.contains('*') {
        return Err("a wildcard must be the whole leftmost label, as in `https://*.example.com`".into());
    }
    normalise_host(host)
}

/// A host as the URL parser would see it: lowercase, punycode, IPv4 in
/// dotted form.
fn normalise_host(host: &str) -> Result<HostPattern, String> {
    let url = Url::parse(&format!("http://{host}/")).map_err(|_| format!("`{host}` is not a valid host"))?;
    match url_host(&url) {
        Some(UrlHost::Name(name)) => Ok(HostPattern::Name(name)),
        Some(UrlHost::Ip(ip)) => Ok(HostPattern::Ip(canonical(ip))),
        None => Err(format!("`{host}` is not a valid host")),
    }
}

/// An IPv6 address that carries an IPv4 one (mapped, NAT64) as that IPv4
/// address; anything else unchanged.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    // NAT64 well-known prefix, 64:ff9b::/96.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., a, b, c, d] = ip.octets();
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    None
}

/// What kind of non-public address `ip` (canonical) is, if it is one.
fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => {
            let [a, b, ..] = ip.octets();
            if a == 0 {
                Some("unspecified (0.0.0.0/8)")
            } else if ip.is_loopback() {
                Some("loopback")
            } else if ip.is_private() {
                Some("private")
            } else if a == 100 && (b & 0xc0) == 64 {
                Some("shared (carrier-grade NAT)")
            } else if ip.is_link_local() {
                Some("link-local")
            } else if ip.is_multicast() {
                Some("multicast")
            } else if a >= 240 {
                Some("reserved")
            } else {
                None
            }
        }
        IpAddr::V6(ip) => {
            let first = ip.segments()[0];
            if ip.is_unspecified() {
                Some("unspecified")
            } else if ip.is_loopback() {
                Some("loopback")
            } else if first & 0xfe00 == 0xfc00 {
                Some("unique-local (private)")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if first & 0xffc0 == 0xfec0 {
                Some("site-local")
            } else if ip.is_multicast() {
                Some("multicast")
            } else if first & 0xe000 != 0x2000 {
                Some("reserved (outside 2000::/3)")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> OriginPolicy {
        match OriginPolicy::new(entries) {
            Ok(policy) => policy,
            Err(e) => panic!("{e}"),
        }
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn allowed(p: &OriginPolicy, text: &str) -> bool {
        p.check(&url(text)).is_ok()
    }

    fn error(entry: &str) -> String {
        match OriginPolicy::new([entry]) {
            Ok(_) => panic!("`{entry}` was accepted"),
            Err(e) => e.to_string(),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn nothing_is_granted_by_default() {
        let p = OriginPolicy::default();
        let denied = p.check(&url("https://api.example.com/x")).unwrap_err();
        assert!(denied.reason.contains("no HTTP origin is granted"), "{denied}");
        assert_eq!(denied.origin, "https://api.example.com:443");
    }

    #[test]
    fn an_origin_grants_its_scheme_host_and_default_port() {
        let p = policy(&["https://api.example.com"]);
        assert!(allowed(&p, "https://api.example.com/v1/things?q=1"));
        assert!(allowed(&p, "https://API.Example.COM:443/"));
        assert!(allowed(&p, "https://api.example.com./"), "a trailing dot names the same host");
        assert!(!allowed(&p, "http://api.example.com/"), "another scheme");
        assert!(!allowed(&p, "https://api.example.com:8443/"), "another port");
        assert!(!allowed(&p, "https://example.com/"));
        assert!(!allowed(&p, "https://x.api.example.com/"));
        assert!(!allowed(&p, "https://api.example.com.evil.net/"));
        let http = policy(&["http://example.com"]);
        assert!(allowed(&http, "http://example.com:80/"));
        assert!(!allowed(&http, "http://example.com:8080/"));
    }

    #[test]
    fn explicit_and_wildcard_ports() {
        let p = policy(&["http://127.0.0.1:8080", "https://example.com:*"]);
        assert!(allowed(&p, "http://127.0.0.1:8080/"));
        assert!(!allowed(&p, "http://127.0.0.1/"));
        assert!(!allowed(&p, "http://127.0.0.1:8081/"));
        assert!(allowed(&p, "https://example.com:1/"));
        assert!(allowed(&p, "https://example.com/"));
        assert!(!allowed(&p, "http://example.com:8080/"), "the port wildcard keeps the scheme");
    }

    #[test]
    fn a_wildcard_matches_subdomains_at_any_depth_but_not_the_apex() {
        let p = policy(&["https://*.example.com"]);
        assert!(allowed(&p, "https://a.example.com/"));
        assert!(allowed(&p, "https://a.b.example.com/"));
        assert!(!allowed(&p, "https://example.com/"), "the apex must be listed on its own");
        assert!(!allowed(&p, "https://badexample.com/"));
        assert!(!allowed(&p, "https://.example.com/"));
        assert!(!allowed(&p, "https://a.example.com.evil.net/"));
        assert!(!allowed(&p, "http://a.example.com/"));
    }

    #[test]
    fn ip_literals_and_ipv6() {
        let p = policy(&["http://[::1]:9000", "https://10.1.2.3"]);
        assert!(allowed(&p, "http://[::1]:9000/"));
        assert!(allowed(&p, "http://[0:0:0:0:0:0:0:1]:9000/"));
        assert!(!allowed(&p, "http://[::2]:9000/"));
        assert!(allowed(&p, "https://10.1.2.3/"));
        assert!(allowed(&p, "https://0x0a.1.2.3/"), "the URL parser normalises IPv4 forms");
        assert!(!allowed(&p, "https://10.1.2.4/"));
        assert!(allowed(&p, "https://[::ffff:10.1.2.3]/"), "an IPv4-mapped literal is its IPv4 address");
        let mapped = policy(&["http://[::ffff:127.0.0.1]:8080"]);
        assert_eq!(mapped.origins()[0].to_string(), "http://127.0.0.1:8080");
        assert!(allowed(&mapped, "http://127.0.0.1:8080/"));
    }

    #[test]
    fn idn_names_are_compared_in_punycode() {
        let p = policy(&["https://bücher.example"]);
        assert!(allowed(&p, "https://xn--bcher-kva.example/"));
        assert!(allowed(&p, "https://BÜCHER.example/"));
    }

    #[test]
    fn only_http_and_https_urls_pass() {
        let p = policy(&["https://example.com"]);
        let denied = p.check(&url("ftp://example.com/")).unwrap_err();
        assert!(denied.reason.contains("only http and https"), "{denied}");
        assert!(p.check(&url("file:///etc/passwd")).is_err());
    }

    #[test]
    fn a_denial_names_the_origin_and_the_grants_but_not_the_path() {
        let p = policy(&["https://api.example.com", "http://127.0.0.1:8080"]);
        let denied = p.check(&url("https://user:pw@evil.example.net/secret/path?token=abc")).unwrap_err();
        let text = denied.to_string();
        assert!(text.contains("https://evil.example.net:443"), "{text}");
        assert!(text.contains("granted: https://api.example.com, http://127.0.0.1:8080"), "{text}");
        for hidden in ["secret", "abc", "pw", "user"] {
            assert!(!text.contains(hidden), "{hidden} in {text}");
        }
    }

    #[test]
    fn patterns_overlap_when_one_origin_matches_both() {
        let o = |text: &str| AllowedOrigin::parse(text).unwrap_or_else(|e| panic!("{e}"));
        let overlap = |a: &str, b: &str| o(a).overlaps(&o(b)) && o(b).overlaps(&o(a));
        assert!(overlap("http://127.0.0.1:*", "http://127.0.0.1:8080"));
        assert!(overlap("https://*.example.com", "https://a.b.example.com"));
        assert!(overlap("https://*.example.com", "https://*.b.example.com:*"));
        assert!(overlap("https://api.example.com", "https://API.example.com:443"));
        assert!(!overlap("http://127.0.0.1", "http://127.0.0.1:8080"), "port 80 is not 8080");
        assert!(!overlap("https://*.example.com", "https://example.com"), "the apex is not below itself");
        assert!(!overlap("http://api.example.com", "https://api.example.com"), "schemes differ");
        assert!(!overlap("http://127.0.0.1:*", "http://127.0.0.2:*"));
    }

    #[test]
    fn malformed_entries_are_refused_with_the_entry_named() {
        for (entry, expect) in [
            ("api.example.com", "expected an origin"),
            ("ftp://example.com", "must be `http` or `https`"),
            ("*://example.com", "wildcard scheme"),
            ("https://example.com/api", "no path"),
            ("https://example.com?x=1", "no path"),
            ("https://user@example.com", "user info"),
            ("https://", "host is missing"),
            ("https://:443", "host is missing"),
            ("https://example.com:0", "port must be"),
            ("https://example.com:99999", "port must be"),
            ("https://example.com:http", "port must be"),
            ("https://*", "would grant every host"),
            ("https://*:443", "would grant every host"),
            ("https://*.com", "whole top-level domain"),
            ("https://a.*.example.com", "whole leftmost label"),
            ("https://*a.example.com", "whole leftmost label"),
            ("https://*.*.example.com", "only the leftmost label"),
            ("https://*.10.0.0.1", "before an IP address"),
            ("http://::1:80", "in brackets"),
            ("http://[::1", "closing `]`"),
            ("http://[::1]x", "`:port`"),
            ("https://exa mple.com", "not a valid host"),
            ("10.0.0.0/33", "prefix length"),
            ("10.1.0.0/8", "did you mean `10.0.0.0/8`"),
        ] {
            let text = error(entry);
            assert!(text.contains(&format!("`{entry}`")), "{entry}: {text}");
            assert!(text.contains(expect), "{entry}: expected `{expect}` in {text}");
        }
    }

    #[test]
    fn accepted_entries_print_in_canonical_form() {
        for (entry, shown) in [
            ("https://API.example.com/", "https://api.example.com"),
            ("https://api.example.com:443", "https://api.example.com"),
            ("http://api.example.com:443", "http://api.example.com:443"),
            ("https://*.Example.com", "https://*.example.com"),
            ("https://example.com:*", "https://example.com:*"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            (" http://127.0.0.1:8080 ", "http://127.0.0.1:8080"),
        ] {
            let p = policy(&[entry]);
            assert_eq!(p.origins()[0].to_string(), shown, "{entry}");
        }
    }

    #[test]
    fn service_host_port_is_granted_as_an_origin() {
        let bare = AllowedOrigin::from_host_port("looker.example.com:19999").map(|o| o.to_string());
        assert_eq!(bare.as_deref(), Ok("https://looker.example.com:19999"));
        let bare = AllowedOrigin::from_host_port("looker.example.com").map(|o| o.to_string());
        assert_eq!(bare.as_deref(), Ok("https://looker.example.com"));
        let url = AllowedOrigin::from_host_port("http://looker.example.com:8080/api/4.0").map(|o| o.to_string());
        assert_eq!(url.as_deref(), Ok("http://looker.example.com:8080"));
        assert!(AllowedOrigin::from_host_port("ftp://x.example.com").is_err());
        let mut p = OriginPolicy::default();
        p.grant(Grant::Origin(AllowedOrigin::from_host_port("http://10.0.0.7:8080").unwrap_or_else(|e| panic!("{e}"))));
        assert!(allowed(&p, "http://10.0.0.7:8080/api"));
        assert!(p.check_addr("looker.internal", ip("10.0.0.7")).is_ok(), "an IP-literal origin grants its address");
    }

    #[test]
    fn public_addresses_pass_non_public_ones_are_refused() {
        let p = policy(&["https://example.com"]);
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
            assert!(p.check_addr("example.com", ip(public)).is_ok(), "{public}");
        }
        for (address, class) in [
            ("127.0.0.1", "loopback"),
            ("127.9.9.9", "loopback"),
            ("10.0.0.1", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "shared"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd12:3456::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:169.254.169.254", "link-local"),
            ("64:ff9b::7f00:1", "loopback"),
            ("::7f00:1", "reserved"),
        ] {
            let denied = p.check_addr("example.com", ip(address)).unwrap_err();
            assert!(denied.reason.contains(class), "{address}: {denied}");
            assert!(denied.reason.contains("`example.com`"), "{denied}");
        }
        assert!(p.check_addr("example.com", ip("172.32.0.1")).is_ok());
        assert!(p.check_addr("example.com", ip("100.128.0.1")).is_ok());
    }

    #[test]
    fn address_ranges_lift_the_refusal_for_what_they_hold() {
        let p = policy(&["https://example.com", "127.0.0.1", "10.0.0.0/8", "fd00::/8", "[::1]"]);
        assert!(p.check_addr("h", ip("127.0.0.1")).is_ok());
        assert!(p.check_addr("h", ip("::ffff:127.0.0.1")).is_ok(), "a mapped address is its IPv4 address");
        assert!(p.check_addr("h", ip("127.0.0.2")).is_err());
        assert!(p.check_addr("h", ip("10.200.3.4")).is_ok());
        assert!(p.check_addr("h", ip("192.168.0.1")).is_err());
        assert!(p.check_addr("h", ip("fd12::1")).is_ok());
        assert!(p.check_addr("h", ip("fc00::1")).is_err());
        assert!(p.check_addr("h", ip("::1")).is_ok());
        let mapped = policy(&["::ffff:192.168.0.0/112"]);
        assert!(mapped.check_addr("h", ip("192.168.3.4")).is_ok(), "a mapped range is stored as IPv4");
        assert!(mapped.check_addr("h", ip("10.0.0.1")).is_err());
    }

    #[test]
    fn an_address_range_grants_no_origin() {
        let p = policy(&["127.0.0.0/8"]);
        assert!(p.is_empty());
        assert!(!allowed(&p, "http://127.0.0.1/"));
    }

    #[test]
    fn an_ip_literal_origin_grants_only_its_own_address() {
        let p = policy(&["http://127.0.0.1:8080", "http://localhost:8080"]);
        assert!(p.check_addr("localhost", ip("127.0.0.1")).is_ok());
        assert!(p.check_addr("localhost", ip("::1")).is_err());
        assert!(p.check_addr("localhost", ip("127.0.0.2")).is_err());
    }
}
