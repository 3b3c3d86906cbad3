fn main() {
    println!("helpdesk: under construction");
}
