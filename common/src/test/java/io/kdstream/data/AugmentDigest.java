package io.kdstream.data;

import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Hash of a fixed set of augmented batches; run in a second JVM by {@link AugmentationTest} to
 * prove the augmentation is bit-identical across processes.
 */
public final class AugmentDigest {
    private AugmentDigest() {
    }

    public static String digest() throws Exception {
        ImageDataset train = Datasets.load("fashion-mnist", Split.TRAIN);
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (String policy : new String[] {"none", "flip", "crop", "crop+flip", "crop:2+flip+erase"}) {
            BatchSource src = new BatchSource(train, 20261126L, 256, AugmentPolicy.parse(policy));
            for (int epoch = 0; epoch < 2; epoch++) {
                for (int b : new int[] {0, 117, src.batchesPerEpoch() - 1}) {
                    Batch batch = src.batch(epoch, b);
                    md.update(batch.inputs());
                    for (long id : batch.sampleIds()) {
                        md.update(Long.toString(id).getBytes());
                    }
                    for (long s : batch.augSeeds()) {
                        md.update(Long.toString(s).getBytes());
                    }
                    for (float f : new InputNormalization(new float[] {0.2860f}, new float[] {0.3530f})
                            .normalize(batch.inputs(), 1, 28 * 28)) {
                        int bits = Float.floatToRawIntBits(f);
                        md.update(new byte[] {(byte) bits, (byte) (bits >> 8), (byte) (bits >> 16), (byte) (bits >> 24)});
                    }
                }
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    public static void main(String[] args) throws Exception {
        System.out.println("digest=" + digest());
    }
}
