//! `nfvctl status` for people: one line per attachment, then the drift in words, the leases
//! nobody holds and what could not be read. Container IDs are cut to 12 characters here
//! (`--json` has them whole).

use crate::view::{Attachment, Status, VfSettings};

const HEADER: [&str; 8] = [
    "PLUGIN",
    "NETWORK",
    "CONTAINER",
    "IFNAME",
    "NETNS",
    "DEVICE",
    "LEASES",
    "DRIFT",
];

fn short(id: &str) -> &str {
    id.char_indices().nth(12).map_or(id, |(i, _)| &id[..i])
}

fn device(a: &Attachment) -> String {
    let mut parts = Vec::new();
    if let Some(vf) = &a.vf {
        let mut s = format!("VF {} ({} vf {})", vf.pci, vf.pf, vf.index);
        if let Some(n) = &vf.host_netdev {
            s.push_str(&format!(" host:{n}"));
        }
        parts.push(s);
    }
    if let Some(v) = &a.vdpa {
        let mut s = format!("vDPA {}", v.device);
        if !v.mode.is_empty() {
            s.push_str(&format!(" {}", v.mode));
        }
        parts.push(s);
    }
    if let Some(o) = &a.ovs {
        parts.push(format!(
            "OVS {} on {} {}",
            o.port,
            o.bridge.as_deref().unwrap_or("?"),
            o.socket.as_deref().unwrap_or("")
        ));
    }
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(" + ")
    }
}

fn netns(a: &Attachment) -> String {
    match (&a.netns, a.netns_exists) {
        (None, _) => "-".to_string(),
        (Some(n), Some(false)) => format!("{n} (gone)"),
        (Some(n), _) => n.clone(),
    }
}

fn settings(s: &VfSettings) -> String {
    let mut w = Vec::new();
    if let Some(m) = &s.mac {
        w.push(format!("mac {m}"));
    }
    if let Some(v) = s.vlan {
        w.push(format!(
            "vlan {v} qos {} {}",
            s.qos.unwrap_or(0),
            s.vlan_proto.as_deref().unwrap_or("")
        ));
    }
    if let Some(b) = s.spoofchk {
        w.push(format!("spoofchk {}", if b { "on" } else { "off" }));
    }
    if let Some(b) = s.trust {
        w.push(format!("trust {}", if b { "on" } else { "off" }));
    }
    if let (Some(min), Some(max)) = (s.min_tx_rate, s.max_tx_rate) {
        w.push(format!("rate {min}-{max} Mbps"));
    }
    if let Some(l) = &s.link_state {
        w.push(format!("state {l}"));
    }
    if w.is_empty() {
        "nothing".to_string()
    } else {
        w.join(", ")
    }
}

pub fn render(s: &Status) -> String {
    let rows: Vec<[String; 8]> = s
        .attachments
        .iter()
        .map(|a| {
            let mut kinds: Vec<&str> = a.drift.iter().map(|d| d.kind).collect();
            kinds.dedup();
            [
                a.plugin.to_string(),
                a.network.clone().unwrap_or_else(|| "?".into()),
                short(&a.container_id).to_string(),
                a.ifname.clone(),
                netns(a),
                device(a),
                if a.leases.is_empty() {
                    "-".into()
                } else {
                    a.leases.join(",")
                },
                if kinds.is_empty() {
                    "-".into()
                } else {
                    kinds.join(",")
                },
            ]
        })
        .collect();
    let mut width = HEADER.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no attachments on this node\n");
    } else {
        out.push_str(&line(&HEADER.map(str::to_string)));
        for r in &rows {
            out.push_str(&line(r));
        }
    }
    let vfs: Vec<&Attachment> = s.attachments.iter().filter(|a| a.vf.is_some()).collect();
    if !vfs.is_empty() {
        out.push_str("\nVF settings (applied at ADD / before ADD / on the PF now):\n");
        for a in vfs {
            let Some(vf) = &a.vf else { continue };
            out.push_str(&format!(
                "  {} {} {}: applied {}; before {}; now {}\n",
                vf.pci,
                short(&a.container_id),
                a.ifname,
                vf.applied
                    .as_ref()
                    .map_or("not recorded".to_string(), settings),
                settings(&vf.before),
                match (&vf.now, &vf.now_error) {
                    (Some(n), _) => settings(n),
                    (None, Some(e)) => format!("unknown ({e})"),
                    (None, None) => "unknown".to_string(),
                }
            ));
        }
    }
    let drift: Vec<String> = s
        .attachments
        .iter()
        .flat_map(|a| {
            a.drift.iter().map(move |d| {
                format!(
                    "  {} {} {} ({}): {}\n",
                    d.kind,
                    short(&a.container_id),
                    a.ifname,
                    a.plugin,
                    d.detail
                )
            })
        })
        .chain(
            s.drift
                .iter()
                .map(|d| format!("  {}: {}\n", d.kind, d.detail)),
        )
        .collect();
    if !drift.is_empty() {
        out.push_str("\nDrift (docs/nfvctl.md says what to do about each):\n");
        out.extend(drift);
    }
    let others: Vec<_> = s
        .leases
        .iter()
        .filter(|l| !l.attached && !l.our_network)
        .collect();
    if !others.is_empty() {
        out.push_str("\nLeases of networks none of these attachments belong to (not judged):\n");
        for l in others {
            out.push_str(&format!(
                "  {} {} {} {}\n",
                l.network,
                l.address,
                l.container_id.as_deref().map_or("?", short),
                l.ifname.as_deref().unwrap_or("")
            ));
        }
    }
    for n in &s.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}
