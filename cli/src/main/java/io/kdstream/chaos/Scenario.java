package io.kdstream.chaos;

/**
 * One fault scenario of {@code kdstream chaos}: injects its faults into real processes, audits
 * exactly-once delivery and training, and prints its row(s) of the table.
 */
interface Scenario {

    /** Runs the scenario; the number of failures (a lost or duplicated batch, a crash, a fault not injected). */
    int run() throws Exception;
}
