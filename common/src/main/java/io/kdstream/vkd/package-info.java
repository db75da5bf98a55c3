/**
 * The VkD math (arXiv 2403.06213): the orthogonal projection of student features into the teacher's
 * feature space, teacher-side normalizers and the distillation losses.
 *
 * <p>Everything is composed from DJL NDArray operations so DJL autograd differentiates it and it runs
 * on any DJL device. Operations put an array from the caller's (per-step) manager first, or attach
 * their intermediates to it, so closing the caller's sub-manager frees every per-step array.
 */
package io.kdstream.vkd;
