/**
 * kdstream services as child processes, as they would run on separate machines: {@link
 * io.kdstream.process.ChildProcess} (one JVM, its progress events, SIGTERM and kill -9) and the
 * {@link io.kdstream.process.Orchestrator} of a local experiment (broker, teacher, students).
 * Command lines come from {@link io.kdstream.lifecycle.KdstreamJvm}.
 */
package io.kdstream.process;
