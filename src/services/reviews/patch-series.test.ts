// Reading git format-patch series: what git am would take from each mail (subject without its
// tags, RFC 2047 words, folded headers, in-body From, the message up to "---"), a cover letter,
// a bare diff, format-patch's signature told from a last hunk line "-- ", and the refusals.
import { describe, expect, it } from "vitest";
import type { ForgeError } from "../../utils/errors";
import { parseSeries, SERIES_MAX_BYTES } from "./patch-series";

const enc = (s: string) => new TextEncoder().encode(s);

const mail = (id: string, headers: string, body: string, diff: string, signature = "-- \n2.39.5\n\n") =>
  `From ${id.repeat(40)} Mon Sep 17 00:00:00 2001\n${headers}\n\n${body}---\n 1 file changed\n\n${diff}${signature}`;

const DIFF = `diff --git a/a.txt b/a.txt
index 1111111..2222222 100644
--- a/a.txt
+++ b/a.txt
@@ -1,2 +1,2 @@
 one
-two
+TWO
`;

function refusal(input: string): ForgeError {
  try {
    parseSeries(enc(input));
  } catch (err) {
    return err as ForgeError;
  }
  throw new Error("not refused");
}

describe("parseSeries", () => {
  it("reads a cover letter and patches as git am does", () => {
    const cover = `From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Ada <ada@example.com>
Date: Tue, 3 Nov 2026 10:00:00 +0200
Subject: [PATCH v2 0/2] The series

Why this series.

Ada (2):
  one

-- 
2.39.5

`;
    const first = mail(
      "1",
      "From: =?UTF-8?q?Zo=C3=AB?= Contributor <zoe@example.org>\nDate: Tue, 3 Nov 2026 10:00:00 +0200\nSubject: [PATCH v2 1/2] =?UTF-8?q?Caf=C3=A9?= and a long\n subject",
      "The body.\n\nSigned-off-by: Zoë <zoe@example.org>\n",
      DIFF,
    );
    const second = mail(
      "2",
      "From: Sender <list@example.com>\nDate: Wed, 4 Nov 2026 09:30:00 -0500\nSubject: Re: [PATCH v2 2/2] Second",
      "From: Real Author <real@example.com>\n\nBody two.\n",
      DIFF.replace("two", "three").replace("TWO", "THREE"),
    );
    const s = parseSeries(enc(cover + first + second));
    expect(s.cover).toEqual({ subject: "The series", body: expect.stringContaining("Why this series.") });
    expect(s.patches.map((p) => p.subject)).toEqual(["Café and a long subject", "Second"]);
    expect(s.patches[0]!.message).toBe("Café and a long subject\n\nThe body.\n\nSigned-off-by: Zoë <zoe@example.org>\n");
    expect(s.patches[0]!.author).toEqual({
      name: "Zoë Contributor",
      email: "zoe@example.org",
      time: Date.parse("2026-11-03T08:00:00Z") / 1000,
      tz: "+0200",
    });
    // The in-body From is the author (the mail's From only sent it).
    expect(s.patches[1]!.author).toMatchObject({ name: "Real Author", email: "real@example.com", tz: "-0500" });
    expect(s.patches[1]!.files[0]).toMatchObject({ oldPath: "a.txt", newPath: "a.txt" });
  });

  it("takes a bare diff as one patch without author or subject", () => {
    const s = parseSeries(enc(DIFF));
    expect(s.patches).toHaveLength(1);
    expect(s.patches[0]).toMatchObject({ subject: "", author: null });
    expect(s.patches[0]!.files[0]!.patch.hunks[0]!.lines).toEqual([" one", "-two", "+TWO"]);
  });

  it("keeps a last hunk line '-- ' (removing '- ') with or without the signature", () => {
    const diff = DIFF.replace("-two\n+TWO\n", "-two\n+TWO\n-- \n").replace("@@ -1,2 +1,2 @@", "@@ -1,3 +1,2 @@");
    for (const signature of ["", "-- \n2.39.5\n\n"]) {
      const s = parseSeries(enc(mail("1", "From: A <a@example.com>\nSubject: [PATCH] x", "", diff, signature)));
      expect(s.patches[0]!.files[0]!.patch.hunks[0]!.lines).toEqual([" one", "-two", "+TWO", "-- "]);
    }
  });

  it("refuses what it cannot apply faithfully, naming the patch", () => {
    const head = "From: A <a@example.com>\nSubject: [PATCH] Pic";
    const binary = refusal(
      mail(
        "1",
        head,
        "",
        "diff --git a/p.png b/p.png\nnew file mode 100644\nindex 0000000..1111111\nGIT binary patch\nliteral 1\nIcmZ\n\n",
      ),
    );
    expect([binary.status, binary.message]).toEqual([400, expect.stringContaining('Patch 1 ("Pic") changes a binary file')]);
    const sub = refusal(
      mail(
        "1",
        head,
        "",
        "diff --git a/lib b/lib\nnew file mode 160000\nindex 0000000..1111111\n--- /dev/null\n+++ b/lib\n@@ -0,0 +1 @@\n+Subproject commit 1111111111111111111111111111111111111111\n",
      ),
    );
    expect(sub.message).toContain("submodule");
    const qp = refusal(mail("1", `${head}\nContent-Transfer-Encoding: quoted-printable`, "", DIFF));
    expect(qp.message).toContain("quoted-printable");
    expect(refusal(mail("1", head, "", DIFF.replaceAll("a.txt", "../a.txt"))).message).toContain("not a path");
    expect(refusal(mail("1", head, "", DIFF.replaceAll("a.txt", ".git/config"))).message).toContain("not a path");
    expect(refusal("").status).toBe(400);
    expect(refusal("x".repeat(SERIES_MAX_BYTES + 1)).status).toBe(413);
  });
});
