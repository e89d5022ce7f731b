//! The sriov CNI plugin (netdev mode): attach an SR-IOV VF to a pod and give it back intact.

pub mod config;
