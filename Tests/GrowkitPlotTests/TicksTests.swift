import GrowkitPlot
import Testing

/// Nice tick values (1-2-5 steps) and their labels.
@Suite struct TicksTests {
    @Test func linearTicksUseOneTwoFiveSteps() {
        #expect(Ticks.linear(0, 4000).values == [0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000])
        #expect(Ticks.linear(0, 4000, target: 4).values == [0, 1000, 2000, 3000, 4000])
        #expect(Ticks.step(span: 1.3, target: 6) == 0.2)
        #expect(Ticks.step(span: 3.1, target: 6) == 0.5)
        #expect(Ticks.step(span: 7e15, target: 7) == 1e15)
        #expect(Ticks.linear(2.9, 5.7).values == [3, 3.5, 4, 4.5, 5, 5.5])
    }

    @Test func logTicksByRange() {
        #expect(Ticks.log(1e12, 1e18).values == [1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18])
        #expect(Ticks.log(1e3, 1e15, target: 6).values == [1e4, 1e6, 1e8, 1e10, 1e12, 1e14])
        #expect(Ticks.log(1.5, 30).values == [2, 5, 10, 20])
        #expect(Ticks.log(2.7, 15).values == [3, 4, 5, 6, 8, 10, 15])
        #expect(Ticks.log(2.8, 5.9).values == [3, 3.5, 4, 4.5, 5])
        #expect(Ticks.log(5.12, 5.46).values.count == 7)  // linear: 5.15 ... 5.45 by 0.05
        #expect(Ticks.log(5.12, 5.46).step == 0.05)
    }

    @Test func labelsCarrySuffixes() {
        #expect(TickFormat.count(1_200_000, step: 200_000) == "1.2M")
        #expect(TickFormat.count(500_000, step: 100_000) == "500k")
        #expect(TickFormat.count(3e9, step: 1e9) == "3B")
        #expect(TickFormat.count(0, step: 1e6) == "0")
        #expect(TickFormat.count(250, step: 50) == "250")
        #expect(TickFormat.scientific(3e15, step: 1e15) == "3e15")
        #expect(TickFormat.scientific(1.5e15, step: 5e14) == "1.5e15")
        #expect(TickFormat.scientific(0, step: 1e15) == "0")
        #expect(TickFormat.plain(3.5, step: 0.5) == "3.5")
        #expect(TickFormat.plain(20, step: 0) == "20")
    }
}
