/** kdstream: streaming feature distillation (VkD) over Kafka. */
package io.kdstream;
