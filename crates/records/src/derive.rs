//! [`attachment_record!`](crate::attachment_record): the [`AttachmentRecord`](crate::AttachmentRecord)
//! accessors for a record with the usual field names, written once for every plugin.

/// Implements [`AttachmentRecord`](crate::AttachmentRecord) for a record type whose fields
/// have the usual names: `container_id` and `ifname` (`String`), `device` (anything
/// `AsRef<str>`: its text keys the lock and the holder check). With `network`, also a
/// `network: String` field that is empty in records of binaries that did not write it (such
/// a record names no network, and GC leaves it to DEL).
///
/// Only accessors: the record's fields, their order and their serde attributes (the bytes on
/// disk) stay the plugin's.
#[macro_export]
macro_rules! attachment_record {
    ($record:ty) => {
        $crate::attachment_record!(@impl $record, {});
    };
    ($record:ty, network) => {
        $crate::attachment_record!(@impl $record, {
            fn network(&self) -> Option<&str> {
                Some(self.network.as_str()).filter(|n| !n.is_empty())
            }
        });
    };
    (@impl $record:ty, { $($network:tt)* }) => {
        impl $crate::AttachmentRecord for $record {
            fn container_id(&self) -> &str {
                &self.container_id
            }
            fn ifname(&self) -> &str {
                &self.ifname
            }
            fn device(&self) -> &str {
                ::core::convert::AsRef::<str>::as_ref(&self.device)
            }
            $($network)*
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::AttachmentRecord;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    struct Address(String);

    impl AsRef<str> for Address {
        fn as_ref(&self) -> &str {
            &self.0
        }
    }

    #[derive(Serialize, Deserialize)]
    struct Plain {
        container_id: String,
        ifname: String,
        device: String,
    }
    crate::attachment_record!(Plain);

    #[derive(Serialize, Deserialize)]
    struct WithNetwork {
        container_id: String,
        ifname: String,
        device: Address,
        network: String,
    }
    crate::attachment_record!(WithNetwork, network);

    #[test]
    fn the_accessors_read_the_usual_fields() {
        let p = Plain {
            container_id: "c".into(),
            ifname: "net1".into(),
            device: "vdpa0".into(),
        };
        assert_eq!(
            (p.container_id(), p.ifname(), p.device()),
            ("c", "net1", "vdpa0")
        );
        assert_eq!(p.network(), None);
        let mut n = WithNetwork {
            container_id: "c".into(),
            ifname: "net1".into(),
            device: Address("0000:01:10.2".into()),
            network: "sriov-net".into(),
        };
        assert_eq!(n.device(), "0000:01:10.2");
        assert_eq!(n.network(), Some("sriov-net"));
        n.network.clear();
        assert_eq!(
            n.network(),
            None,
            "an earlier binary's record names no network"
        );
    }
}
