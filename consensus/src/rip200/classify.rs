//! Hardware class and machine verdict, derived from an attestation's raw evidence.
//!
//! Shared by validators (who decide rewards with it) and by `rustchain-miner fingerprint` (which
//! shows a miner the verdict the validators will reach). Pure and deterministic: no I/O, no
//! floating point, no clock.

use rustchain_primitives::{HardwareClass, HardwareEvidence};

/// What kind of machine the evidence shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MachineVerdict {
    /// Physical hardware (including a Hyper-V root partition or a Xen dom0: the OS runs on the
    /// physical CPU).
    BareMetal,
    /// A virtual machine guest.
    VirtualMachine,
    /// An instruction-set emulator or binary translator (QEMU TCG, x86 on ARM...).
    Emulator,
    /// A container (Docker, LXC, CRI-O...).
    Container,
}

impl MachineVerdict {
    /// snake_case name for JSON and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            MachineVerdict::BareMetal => "bare_metal",
            MachineVerdict::VirtualMachine => "virtual_machine",
            MachineVerdict::Emulator => "emulator",
            MachineVerdict::Container => "container",
        }
    }

    /// Does this verdict earn rewards? Only bare metal does.
    pub const fn earns(self) -> bool {
        matches!(self, MachineVerdict::BareMetal)
    }
}

/// The outcome of classifying one evidence record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// The hardware class (already capped at `Modern` when the evidence cannot support an
    /// older class).
    pub class: HardwareClass,
    /// The machine verdict.
    pub verdict: MachineVerdict,
    /// Every reason behind the verdict and the class, for people: each VM or container signal
    /// found, why a class was capped, what could not be measured.
    pub reasons: Vec<String>,
}

/// Classifies evidence. NOT IMPLEMENTED YET: being written; until then every machine is
/// reported as modern bare metal with a reason saying so.
pub fn classify(_evidence: &HardwareEvidence) -> Classification {
    Classification {
        class: HardwareClass::Modern,
        verdict: MachineVerdict::BareMetal,
        reasons: vec!["classification is not implemented yet".into()],
    }
}
