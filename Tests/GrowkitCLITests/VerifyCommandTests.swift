import Foundation
import GrowkitCheckpoint
import GrowkitState
import Testing

/// `growkit verify` end to end on states built by hand from the fixtures.
@Suite struct VerifyCommandTests {
    static func result(_ run: GrowkitRun) throws -> [String: Any] {
        try #require(try verifyJSON(run)["result"] as? [String: Any])
    }

    @Test func identicalCopyClaimingExactPasses() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let small = VerifyTestStates.fixture(.gpt2)
        let grown = try VerifyTestStates.write(
            VerifyTestStates.recording(try VerifyTestStates.load(.gpt2), VerifyTestStates.copyRecord(exact: true)), "copy.h5", in: folder)
        let text = try runGrowkit(["verify", small, grown])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("copy: claims function preservation"))
        #expect(text.stdout.contains("seeded random token ids, seed 0 (no --data given)"))
        #expect(text.stdout.contains("max |dlogit| 0.00e+00"))
        #expect(text.stdout.contains("result   PASS"))
        let json = try runGrowkit(["verify", small, grown, "--json"])
        let result = try Self.result(json)
        #expect(result["claimed_exact"] as? Bool == true)
        #expect(result["max_abs_logit_diff"] as? Double == 0 && result["abs_loss_diff"] as? Double == 0)
        #expect(result["verdict"] as? String == "preserved" && result["passed"] as? Bool == true)
    }

    @Test(arguments: [ModelConfig.Family.gpt2, .llama]) func depthIdentityGrowthPasses(family: ModelConfig.Family) throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let state = try VerifyTestStates.load(family)
        let grown = try VerifyTestStates.write(VerifyTestStates.appendingIdentityLayer(state), "grown.h5", in: folder)
        let small = VerifyTestStates.fixture(family)
        let run = try runGrowkit(["verify", small, grown, "--json", "--batches", "3"])
        #expect(run.status == 0, "\(run.stderr)")
        let result = try Self.result(run)
        let dlogit = try #require(result["max_abs_logit_diff"] as? Double)
        let dloss = try #require(result["abs_loss_diff"] as? Double)
        let loss = try #require(result["source_loss"] as? Double)
        #expect(dlogit <= 1e-4 && dloss <= 1e-5 * max(1, loss))
        #expect(result["verdict"] as? String == "preserved" && result["batches"] as? Int == 3)
        #expect((result["grown_batch_losses"] as? [Double])?.count == 3)
        let text = try runGrowkit(["verify", small, grown])
        #expect(text.stdout.contains("3 layers") && text.stdout.contains("depth=identity:placement=append: claims function preservation"))
        #expect(text.stdout.contains("result   PASS"))
        // Progress goes to stderr, one plain line per batch here, never to stdout.
        #expect(text.stderr.contains("verify batch 2/2") && !text.stdout.contains("verify batch"))
    }

    /// 1e-2 on one head entry with a record claiming exactness: exit 1, the report on stdout and
    /// one sentence on stderr naming the file and the figures.
    @Test func perturbedWeightClaimingExactFails() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let state = VerifyTestStates.perturbingHead(try VerifyTestStates.load(.llama))
        let grown = try VerifyTestStates.write(VerifyTestStates.recording(state, VerifyTestStates.copyRecord(exact: true)), "bad.h5", in: folder)
        let small = VerifyTestStates.fixture(.llama)
        let json = try runGrowkit(["verify", small, grown, "--json"])
        #expect(json.status == 1)
        let result = try Self.result(json)
        let dlogit = try #require(result["max_abs_logit_diff"] as? Double)
        #expect(dlogit > 1e-4 && result["verdict"] as? String == "not_preserved" && result["passed"] as? Bool == false)
        #expect((result["max_abs_logit_diff_at"] as? [String: Any])?["token"] as? Int == 17)

        let text = try runGrowkit(["verify", small, grown])
        #expect(text.status == 1)
        #expect(text.stdout.contains("result   FAIL: max |dlogit|"))
        let last = try #require(text.stderr.split(separator: "\n").last.map(String.init))
        #expect(last.contains(grown) && last.contains("claims a function-preserving growth"))
        #expect(last.contains("max |dlogit| \(String(format: "%.2e", dlogit)) exceeds the tolerance 1.00e-04"))
        #expect(!text.stderr.contains("Fatal error"))

        // A looser --atol (and loss tolerance) admits it.
        let loose = try runGrowkit(["verify", small, grown, "--atol", "0.1", "--loss-rtol", "0.01"])
        #expect(loose.status == 0 && loose.stdout.contains("result   PASS"), "\(loose.stderr)")
    }

    @Test func perturbedWeightNotClaimedExactIsChangedByDesign() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let state = VerifyTestStates.perturbingHead(try VerifyTestStates.load(.gpt2))
        let grown = try VerifyTestStates.write(VerifyTestStates.recording(state, VerifyTestStates.copyRecord(exact: false)), "noisy.h5", in: folder)
        let run = try runGrowkit(["verify", VerifyTestStates.fixture(.gpt2), grown])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("copy:noise: does not claim function preservation"))
        #expect(run.stdout.contains("result   changed by design (the growth does not claim function preservation): |dloss|"))
        let json = try Self.result(try runGrowkit(["verify", VerifyTestStates.fixture(.gpt2), grown, "--json"]))
        #expect(json["verdict"] as? String == "changed_by_design")
        #expect(try #require(json["max_abs_logit_diff"] as? Double) > 1e-4)
    }

    /// Decision (docs/VERIFY.md): no growth record -> compared all the same, said so, not claimed
    /// exact (exit 0); `--expect-exact` requires preservation anyway.
    @Test func noGrowthRecordIsComparedAndNotClaimedExact() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let changed = try VerifyTestStates.write(VerifyTestStates.perturbingHead(try VerifyTestStates.load(.gpt2)), "changed.h5", in: folder)
        let small = VerifyTestStates.fixture(.gpt2)
        let run = try runGrowkit(["verify", small, changed])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("its provenance does not show a growth (last record: make-fixture), so it is treated as not claimed exact"))
        #expect(run.stdout.contains("result   changed by design (no growth claims function preservation)"))
        let required = try runGrowkit(["verify", small, changed, "--expect-exact"])
        #expect(required.status == 1)
        #expect(required.stderr.split(separator: "\n").last?.contains("was required to preserve its source's function (--expect-exact)") == true)
        // Unchanged and unclaimed: preserved, exit 0.
        let same = try runGrowkit(["verify", small, small])
        #expect(same.status == 0 && same.stdout.contains("preserved within tolerance, though not claimed exact"))
    }

    /// A growth record whose sizes or source checksum disagree with SMALL adds a note; the
    /// comparison still runs. The matching checksum adds none.
    @Test func recordsThatDoNotMatchSmallAddNotes() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let state = try VerifyTestStates.load(.gpt2)
        let grown = try VerifyTestStates.write(VerifyTestStates.appendingIdentityLayer(state), "grown.h5", in: folder)
        // GROWN against itself: the record says num_layers 2 -> 3, the configs say 3 -> 3.
        let run = try runGrowkit(["verify", grown, grown])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("note     num_layers 2 -> 3 in the growth record but 3 -> 3 here: \(grown) may not be the state \(grown) was grown from"))

        let small = VerifyTestStates.fixture(.gpt2)
        let sha = try SHA256.hex(ofFile: small)
        var record = VerifyTestStates.copyRecord(exact: true)
        record.sizes = ["num_layers": [2, 2]]
        var matching = VerifyTestStates.recording(state, record)
        matching.provenance[matching.provenance.count - 1].sourceSHA256 = sha
        let good = try VerifyTestStates.write(matching, "good.h5", in: folder)
        let clean = try runGrowkit(["verify", small, good])
        #expect(clean.status == 0 && !clean.stdout.contains("note"), "\(clean.stdout)")
        matching.provenance[matching.provenance.count - 1].sourceSHA256 = String(repeating: "0", count: 64)
        let other = try VerifyTestStates.write(matching, "other.h5", in: folder)
        let noted = try runGrowkit(["verify", small, other])
        #expect(noted.status == 0 && noted.stdout.contains("note     the SHA-256 of \(small) differs from source_sha256"))
    }

    @Test func withDataFile() throws {
        let corpus = fixturesFolder.appendingPathComponent("jargon-file-4.4.7.txt.zst").path
        let small = VerifyTestStates.fixture(.llama)
        let run = try runGrowkit(["verify", small, small, "--data", corpus, "--batches", "2", "--batch-size", "2", "--seq-len", "16", "--seed", "3"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("2 x 2 x 16 = 64 tokens: random windows of \(corpus)"))
        let json = try verifyJSON(try runGrowkit(["verify", small, small, "--data", corpus, "--seq-len", "16", "--json"]))
        #expect((json["input"] as? [String: Any])?["kind"] as? String == "data")
        // Text data scores its bytes: the loss differs from the random-token default.
        let random = try Self.result(try runGrowkit(["verify", small, small, "--seq-len", "16", "--json"]))
        let onData = try #require(json["result"] as? [String: Any])
        #expect(random["source_loss"] as? Double != onData["source_loss"] as? Double)
    }

    @Test func differentVocabulariesAndFamiliesAreRefused() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var config = RandomState.tinyConfig(.llama)
        config.vocabSize = 512
        let wide = try VerifyTestStates.write(RandomState.state(config: config, seed: 4), "wide.h5", in: folder)
        let small = VerifyTestStates.fixture(.llama)
        expectCleanFailure(try runGrowkit(["verify", small, wide]), mentioning: [small, "vocab_size 256", wide, "vocab_size 512"])
        expectCleanFailure(try runGrowkit(["verify", VerifyTestStates.fixture(.gpt2), small]),
                           mentioning: ["is a gpt2 model", "is a llama model", "same family"])
    }

    @Test func dataShorterThanOneWindowAndSequenceTooLong() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("short.txt").path
        try Data("ten bytes!".utf8).write(to: URL(fileURLWithPath: data))
        let small = VerifyTestStates.fixture(.gpt2)
        expectCleanFailure(try runGrowkit(["verify", small, small, "--data", data, "--seq-len", "16"]),
                           mentioning: [data, "10 tokens", "17"])
        // tiny-gpt2 has learned positions, max_position 64.
        expectCleanFailure(try runGrowkit(["verify", small, small, "--seq-len", "65"]),
                           mentioning: [small, "max_position 64", "--seq-len 64"])
        expectCleanFailure(try runGrowkit(["verify", small, "/nonexistent/grown.h5"]), mentioning: ["/nonexistent/grown.h5"])
        for bad in ["--atol=-1", "--atol=nan", "--loss-rtol=inf"] {
            let run = try runGrowkit(["verify", small, small, bad])
            #expect(run.status == 1 && run.stderr.contains("is invalid for '\(bad.split(separator: "=")[0])"), "\(run.stderr)")
        }
        let formatWithoutData = try runGrowkit(["verify", small, small, "--format", "text"])
        #expect(formatWithoutData.status == 1 && formatWithoutData.stderr.contains("--format needs --data"))
    }
}
