//! winsim: a Windows Server 2022 host simulator for rwin's tests (see README.md).

pub mod runner;
