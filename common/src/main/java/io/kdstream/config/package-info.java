/** Configuration shared by the services: common command-line options and defaults files. */
package io.kdstream.config;
