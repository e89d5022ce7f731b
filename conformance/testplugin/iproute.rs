//! The test plugin's kernel edge: iproute2 (`ip`, run inside a namespace with `nsenter`).

use nfv_cni::Error;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// iproute2 failed.
const IP_FAILED: u32 = 111;

/// A link by name, in the host namespace or in a namespace given by path.
#[derive(Debug, Clone)]
pub struct Link {
    netns: Option<PathBuf>,
    name: String,
}

impl Link {
    pub fn in_netns(netns: &Path, name: &str) -> Link {
        Link {
            netns: Some(netns.to_path_buf()),
            name: name.to_owned(),
        }
    }

    pub fn in_host(name: &str) -> Link {
        Link {
            netns: None,
            name: name.to_owned(),
        }
    }

    fn ip(&self, args: &[&str]) -> Result<String, Error> {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={}", ns.display())).arg("--").arg("ip");
                c
            }
            None => Command::new("ip"),
        };
        let out = cmd
            .args(args)
            .output()
            .map_err(|e| Error::new(IP_FAILED, format!("cannot run ip: {e} (install iproute2)")))?;
        if !out.status.success() {
            return Err(Error::new(
                IP_FAILED,
                format!(
                    "ip {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn show(&self) -> Result<Option<Value>, Error> {
        match self.ip(&["-j", "addr", "show", "dev", &self.name]) {
            Ok(out) => {
                let v: Value = serde_json::from_str(&out)
                    .map_err(|e| Error::new(IP_FAILED, format!("ip -j output: {e}")))?;
                Ok(v.as_array().and_then(|a| a.first().cloned()))
            }
            Err(e) if e.msg.contains("does not exist") => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn exists(&self) -> Result<bool, Error> {
        Ok(self.show()?.is_some())
    }

    pub fn mac(&self) -> Result<String, Error> {
        let link = self
            .show()?
            .ok_or_else(|| Error::new(IP_FAILED, format!("{} vanished", self.name)))?;
        Ok(link
            .get("address")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned())
    }

    /// Addresses as `ip/prefix`.
    pub fn addresses(&self) -> Result<Vec<String>, Error> {
        let link = self
            .show()?
            .ok_or_else(|| Error::new(IP_FAILED, format!("{} vanished", self.name)))?;
        let infos = link
            .get("addr_info")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(infos
            .iter()
            .filter_map(|a| {
                let local = a.get("local")?.as_str()?;
                let len = a.get("prefixlen")?.as_u64()?;
                Some(format!("{local}/{len}"))
            })
            .collect())
    }

    pub fn add_address(&self, cidr: &str) -> Result<(), Error> {
        self.ip(&["addr", "add", cidr, "dev", &self.name]).map(drop)
    }

    pub fn up(&self) -> Result<(), Error> {
        self.ip(&["link", "set", "dev", &self.name, "up"]).map(drop)
    }

    pub fn add_route(&self, dst: &str, gw: Option<&str>) -> Result<(), Error> {
        let mut args = vec!["route", "add", dst];
        if let Some(gw) = gw {
            args.extend(["via", gw]);
        }
        args.extend(["dev", self.name.as_str()]);
        self.ip(&args).map(drop)
    }

    /// Delete the link; "already gone" is success.
    pub fn delete_if_present(&self) -> Result<(), Error> {
        match self.ip(&["link", "del", "dev", &self.name]) {
            Ok(_) => Ok(()),
            Err(e) if e.msg.contains("Cannot find device") || e.msg.contains("does not exist") => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// A veth pair whose host end is deleted on drop unless [`VethPair::keep`] is called, so a
/// failed ADD leaves no link behind.
#[derive(Debug)]
pub struct VethPair {
    host: Link,
    kept: bool,
}

impl VethPair {
    /// Create `host` in this namespace with its peer created directly in `netns` as `ifname`
    /// (never visible in the host namespace, so it cannot collide with a host link).
    pub fn create(
        host: &str,
        netns: &Path,
        ifname: &str,
        mtu: Option<u32>,
    ) -> Result<VethPair, Error> {
        let mtu = mtu.map(|m| m.to_string());
        let ns = netns.display().to_string();
        let mut args = vec!["link", "add", host];
        if let Some(m) = &mtu {
            args.extend(["mtu", m.as_str()]);
        }
        args.extend(["type", "veth", "peer", "name", ifname]);
        if let Some(m) = &mtu {
            args.extend(["mtu", m.as_str()]);
        }
        args.extend(["netns", ns.as_str()]);
        Link::in_host(host).ip(&args)?;
        Ok(VethPair {
            host: Link::in_host(host),
            kept: false,
        })
    }

    pub fn host(&self) -> &Link {
        &self.host
    }

    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        if !self.kept {
            if let Err(e) = self.host.delete_if_present() {
                nfv_cni::error!("rollback: deleting {}: {}", self.host.name, e.msg);
            }
        }
    }
}
