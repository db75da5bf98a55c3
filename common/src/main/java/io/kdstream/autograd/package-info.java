/**
 * What differentiating through DJL needs beyond its API, shared by the VkD math ({@code vkd}),
 * the model zoo ({@code model}) and the student's optimizer: constants that stay alive until the
 * backward pass ({@link io.kdstream.autograd.Scalars}).
 */
package io.kdstream.autograd;
