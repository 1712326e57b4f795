import { z } from "zod";

/** Response and path schemas of the media module, named for the OpenAPI document. */

export const storedImageSchema = z
  .object({
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    contentType: z.enum(["image/png", "image/jpeg", "image/webp", "image/gif"]),
    size: z.number().int().describe("bytes"),
    url: z.string().describe("public URL of the image, cacheable forever; use it as metadata `image`"),
    created: z.boolean().describe("false when the same bytes were already stored"),
  })
  .meta({ id: "StoredImage" });

/** `GET /media/:name`: `<sha256>.<png|jpg|webp|gif>`. */
export const mediaNameParamsSchema = z.object({
  name: z
    .string()
    .regex(/^[0-9a-f]{64}\.(png|jpg|webp|gif)$/, "must be <sha256>.<png|jpg|webp|gif>")
    .meta({ id: "MediaName" }),
});
