//! `ipam.resolvConf`: a resolv.conf file whose nameserver, domain, search and options lines
//! become the result's `dns`, read line by line as the reference plugin does.

/// The DNS settings found in a resolv.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<String>,
    pub domain: String,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

impl ResolvConf {
    /// Parse resolv.conf text: comments (`#`, `;`) and lines with fewer than two words are
    /// skipped; `domain` keeps the last one given.
    pub fn parse(text: &str) -> ResolvConf {
        let mut out = ResolvConf::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 2 {
                continue;
            }
            let rest = fields[1..].iter().map(|s| s.to_string());
            match fields[0] {
                "nameserver" => out.nameservers.push(fields[1].to_string()),
                "domain" => out.domain = fields[1].to_string(),
                "search" => out.search.extend(rest),
                "options" => out.options.extend(rest),
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_four_keys() {
        let r = ResolvConf::parse(
            "# comment\n; other\nnameserver 10.0.0.53\nnameserver  2001:db8::53 extra\n\
             domain a.example\ndomain b.example\nsearch x.example y.example\noptions ndots:5 rotate\n\
             sortlist 10.0.0.0\nnameserver\n",
        );
        assert_eq!(r.nameservers, ["10.0.0.53", "2001:db8::53"]);
        assert_eq!(r.domain, "b.example");
        assert_eq!(r.search, ["x.example", "y.example"]);
        assert_eq!(r.options, ["ndots:5", "rotate"]);
        assert_eq!(ResolvConf::parse(""), ResolvConf::default());
    }
}
