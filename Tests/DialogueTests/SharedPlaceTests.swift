import Dialogue
import Testing

/// The shared place a request names, as the one key recurring problems are counted by.
@Suite struct SharedPlaceTests {
    @Test(arguments: [
        ("the lobby door won't close", "lobby"),
        ("大堂的门关不上", "lobby"),
        ("the elevator in building 2 is stuck again", "building 2 · elevator"),
        ("2号楼电梯又坏了", "building 2 · elevator"),
        ("the elevator on floor 7 skips floors", "elevator"),
        ("hallway light out on floor 3", "floor 3 · hallway"),
        ("3楼走廊的灯不亮", "floor 3 · hallway"),
    ])
    func aSharedPlaceIsOneKeyInEitherLanguage(_ text: String, _ key: String) {
        #expect(TicketDrafting.sharedPlace(location: nil, description: text) == key)
    }

    @Test func theGivenLocationComesFirstAndRoomsInAUnitAreNoSharedPlace() {
        #expect(TicketDrafting.sharedPlace(location: "garage", description: "my car was scratched near the lobby") == "garage")
        #expect(TicketDrafting.sharedPlace(location: "kitchen", description: "the tap drips") == nil)
        #expect(TicketDrafting.sharedPlace(location: nil, description: "厨房水龙头漏水") == nil)
    }
}
