#ifndef SWITCHYARD_SWIFT_RUNTIME_H
#define SWITCHYARD_SWIFT_RUNTIME_H

/// Turns off the Swift runtime's dynamic exclusivity check for the whole process. Call it before any other
/// thread starts. See Sources/switchyard/ExclusivityChecks.swift for why a node does.
void switchyard_disable_exclusivity_checking(void);

#endif
